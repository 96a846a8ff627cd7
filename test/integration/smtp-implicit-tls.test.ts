import anyTest, { type TestFn } from 'ava';
import net from 'node:net';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { startSystem, type System } from '../helpers/system.js';
import { selfSignedCert, type TlsFiles } from '../helpers/tls-cert.js';

// Issue 18: many applications send on 465 with TLS from the first byte. SMTPS_PORT opens that listener beside
// SMTP_PORT, with the STARTTLS certificate settings and the same ingress (hooks, limits, enqueue).
const test = anyTest as TestFn<{ sys: System; cert: TlsFiles }>;

const env = (cert: TlsFiles) => ({
  SMTPS_PORT: '0',
  SMTP_TLS_KEY_FILE: cert.keyFile,
  SMTP_TLS_CERT_FILE: cert.certFile,
});

test.before(async (t) => {
  const cert = await selfSignedCert();
  t.context = { cert, sys: await startSystem({ env: env(cert) }) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.cert?.remove();
});

/** nodemailer over implicit TLS; the test certificate is self-signed, so only this client skips verification. */
const smtps = (port: number) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false } });

/** The lines a TLS client reads from the SMTPS port: the greeting, then the reply to EHLO. */
async function greetingAndEhlo(port: number): Promise<{ greeting: string; ehlo: string; encrypted: boolean }> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  socket.setEncoding('utf8');
  let buffer = '';
  const reply = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const end = buffer.match(/^\d{3} .*\r\n/m);
        if (!end) return;
        const upTo = buffer.indexOf(end[0]) + end[0].length;
        const text = buffer.slice(0, upTo);
        buffer = buffer.slice(upTo);
        socket.off('data', onData);
        resolve(text);
      };
      const onData = (d: string) => {
        buffer += d;
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  try {
    const greeting = await reply();
    socket.write('EHLO client.test\r\n');
    return { greeting, ehlo: await reply(), encrypted: socket.encrypted };
  } finally {
    socket.destroy();
  }
}

test('SMTPS_PORT: a second listener, TLS from the first byte, with the same greeting and EHLO limits (no STARTTLS)', async (t) => {
  const { sys } = t.context;
  t.truthy(sys.smtp?.smtpsPort);
  t.not(sys.smtp?.smtpsPort, sys.smtpPort);
  const r = await greetingAndEhlo(sys.smtp!.smtpsPort!);
  t.true(r.encrypted);
  t.regex(r.greeting, /^220 .*Mailwright ESMTP/);
  t.regex(r.ehlo, new RegExp(`250[- ]SIZE ${sys.config.mail.maxMessageBytes}\\r\\n`));
  t.notRegex(r.ehlo, /STARTTLS/, 'already encrypted');
});

test('a message sent with nodemailer secure: true to the SMTPS port is stored end to end', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const transport = smtps(sys.smtp!.smtpsPort!);
  t.teardown(() => transport.close());
  const info = await transport.sendMail({
    from: 'app@example.org',
    to: box.address,
    subject: 'over implicit TLS',
    text: 'your code is 481516',
  });
  t.regex(info.response, /^250 2\.0\.0 Ok: queued as /);
  const [message] = await sys.waitForMessages(box.address, box.token, 1);
  t.is(message.subject, 'over implicit TLS');
});

test('the SMTPS listener applies the same envelope rules: a domain not in MAIL_DOMAINS is refused at RCPT TO', async (t) => {
  const { sys } = t.context;
  const transport = smtps(sys.smtp!.smtpsPort!);
  t.teardown(() => transport.close());
  const err = await t.throwsAsync(
    transport.sendMail({ from: 'app@example.org', to: 'someone@not-accepted.example', subject: 'x', text: 'x' }),
  );
  const { responseCode, command } = err as Error & { responseCode?: number; command?: string };
  t.is(responseCode, 550);
  t.is(command, 'RCPT TO');
});

test('closing the smtp role closes the SMTPS listener too; without SMTPS_PORT there is none', async (t) => {
  const sys = await startSystem({ roles: ['smtp'], env: env(t.context.cert) });
  t.teardown(() => sys.stop());
  const port = sys.smtp!.smtpsPort!;
  t.true((await greetingAndEhlo(port)).encrypted);
  await sys.smtp!.close();
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED');
  const plain = await startSystem({ roles: ['smtp'], database: sys.database });
  t.teardown(() => plain.stop()); // ava runs teardowns last-registered first: this one before sys.stop()
  t.is(plain.smtp!.smtpsPort, undefined);
});
