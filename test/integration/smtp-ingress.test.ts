import anyTest, { type TestFn } from 'ava';
import { Job } from 'bullmq';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { decodeRaw } from '../../src/queue/payloads.js';

// SMTP role only: the ingress must work without the worker or the web role (it never touches Postgres).
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['smtp'], env: { MAX_MESSAGE_BYTES: '65536', SMTP_MAX_RECIPIENTS: '3' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const message = (subject: string, body = 'hello') =>
  `From: a@example.org\r\nTo: x@${TEST_DOMAIN}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\n${body}\r\n`;

test('250 carries the ingress id only after the job is in Redis, with raw bytes and envelope', async (t) => {
  const { sys } = t.context;
  const raw = message('queued');
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'sender@example.org',
    [`one@${TEST_DOMAIN}`, `Two@${TEST_DOMAIN}`],
    raw,
  );
  const m = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/.exec(r.data);
  t.truthy(m, r.data);
  const job = await Job.fromId(sys.deps.queues.inbound, m![1]!);
  t.truthy(job, 'job exists in Redis');
  t.is(job!.data.v, 1);
  t.is(job!.data.source, 'smtp');
  t.deepEqual(job!.data.envelope, { from: 'sender@example.org', to: [`one@${TEST_DOMAIN}`, `Two@${TEST_DOMAIN}`] });
  t.is(decodeRaw(job!.data)!.toString('latin1'), raw);
});

test('the job carries 7-bit mail as rawAscii and 8-bit mail as rawBase64, both byte-exact', async (t) => {
  const { sys } = t.context;
  const ascii = message('seven-bit');
  const eight = Buffer.from(
    `From: a@example.org\r\nTo: x@${TEST_DOMAIN}\r\nSubject: =?utf-8?q?h=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nh\u00e9llo \u2713\r\n`,
    'utf8',
  );
  const jobs = [];
  for (const raw of [Buffer.from(ascii), eight]) {
    const r = await RawSmtp.sendOnce(sys.smtpPort, 'sender@example.org', [`one@${TEST_DOMAIN}`], raw);
    const id = /queued as ([0-9A-Z]{26})$/.exec(r.data)?.[1];
    t.truthy(id, r.data);
    jobs.push((await Job.fromId(sys.deps.queues.inbound, id!))!.data);
  }
  t.is(jobs[0]!.rawAscii, ascii);
  t.is(jobs[0]!.rawBase64, undefined);
  t.is(jobs[1]!.rawAscii, undefined);
  t.true(decodeRaw(jobs[1])!.equals(eight));
});

test('RCPT outside the configured domains is 550 5.7.1 (no relaying)', async (t) => {
  const { sys } = t.context;
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', ['victim@gmail.com'], message('relay'));
  t.regex(r.rcpts[0]!, /^550 5\.7\.1 /);
  t.is(r.data, '', 'DATA never offered');
});

test('more recipients than SMTP_MAX_RECIPIENTS get 452 4.5.3; the accepted ones still deliver', async (t) => {
  const { sys } = t.context;
  const to = [1, 2, 3, 4, 5].map((i) => `r${i}@${TEST_DOMAIN}`);
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', to, message('many'));
  t.deepEqual(
    r.rcpts.map((x) => x.slice(0, 3)),
    ['250', '250', '250', '452', '452'],
  );
  t.regex(r.rcpts[3]!, /^452 4\.5\.3 /);
  t.regex(r.data, /^250 /);
});

test('SIZE is advertised; a declared or actual oversize message is 552 and nothing is enqueued', async (t) => {
  const { sys } = t.context;
  const { client } = await RawSmtp.open(sys.smtpPort);
  try {
    const ehlo = await client.command('EHLO test');
    t.regex(ehlo, /250[- ]SIZE 65536/);
    t.regex(
      await client.command('MAIL FROM:<a@example.org> SIZE=99999999'),
      /^552 5\.3\.4 Message size exceeds fixed maximum message size$/,
    );
    t.regex(await client.command('RSET'), /^250/);
    t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
    t.regex(await client.command(`RCPT TO:<big@${TEST_DOMAIN}>`), /^250/);
    const reply = await client.data(
      message('big', 'x'.repeat(76) + '\r\n'.repeat(1) + ('y'.repeat(76) + '\r\n').repeat(2000)),
    );
    t.regex(reply, /^552 5\.3\.4 /);
    const queued = (
      await Promise.all(
        [sys.deps.queues.inbound, sys.deps.queues.inboundLarge].map((q) =>
          q.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']),
        ),
      )
    ).flat();
    t.false(
      queued.some((j) => j.data.envelope.to.includes(`big@${TEST_DOMAIN}`)),
      'nothing enqueued for the oversized message',
    );
    // the session is still usable after a 552
    t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
    t.regex(await client.command(`RCPT TO:<ok@${TEST_DOMAIN}>`), /^250/);
    t.regex(await client.data(message('small')), /^250 /);
  } finally {
    client.socket.destroy();
  }
});

test('memory stays bounded while a huge message is discarded', async (t) => {
  const { sys } = t.context;
  const { client } = await RawSmtp.open(sys.smtpPort);
  try {
    await client.command('EHLO test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command(`RCPT TO:<huge@${TEST_DOMAIN}>`);
    t.regex(await client.command('DATA'), /^354/);
    const line = Buffer.from('z'.repeat(998) + '\r\n');
    const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line)); // 1 MiB
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 64; i++) {
      // 64 MiB through a 64 KiB limit
      if (!client.socket.write(chunk)) await new Promise((r) => client.socket.once('drain', r));
    }
    client.socket.write('.\r\n');
    t.regex(await client.reply(30_000), /^552 5\.3\.4 /);
    const grewMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    t.true(grewMiB < 48, `RSS grew ${grewMiB.toFixed(1)} MiB for a 64 MiB message`);
  } finally {
    client.socket.destroy();
  }
});

test('Redis unreachable: 451 4.3.0 within a few seconds, never a 250', async (t) => {
  // a separate SMTP system whose producer connection we cut
  const sys = await startSystem({ roles: ['smtp'] });
  try {
    sys.deps.redis.disconnect();
    const started = Date.now();
    const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [`x@${TEST_DOMAIN}`], message('down'));
    t.regex(r.data, /^451 4\.3\.0 /);
    t.true(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
  } finally {
    await sys.stop();
  }
});

test('SMTP AUTH with any credentials is accepted (apps under test keep their SMTP settings)', async (t) => {
  const { sys } = t.context;
  const nodemailer = (await import('nodemailer')).default;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sys.smtpPort,
    secure: false,
    ignoreTLS: true,
    auth: { user: 'app', pass: 'whatever-secret' },
  });
  try {
    const info = await transport.sendMail({
      from: 'app@example.org',
      to: `authed@${TEST_DOMAIN}`,
      subject: 'auth',
      text: 'x',
    });
    t.regex(info.response, /^250 /);
  } finally {
    transport.close();
  }
});
