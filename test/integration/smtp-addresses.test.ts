import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
// an internationalised domain, configured in Unicode
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { MAIL_DOMAINS: 'mw.test,bücher.test' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const mail = (subject: string) => `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

/** One transaction with every command written as UTF-8 (RawSmtp's own writes are latin1). */
async function sendUtf8(port: number, rcpt: string, subject: string, smtputf8: boolean) {
  const { client } = await RawSmtp.open(port);
  const command = (line: string) => {
    client.socket.write(Buffer.from(`${line}\r\n`, 'utf8'));
    return client.reply();
  };
  try {
    await command('EHLO test.local');
    const mailFrom = await command(`MAIL FROM:<a@example.org>${smtputf8 ? ' SMTPUTF8' : ''}`);
    const rcptTo = await command(`RCPT TO:<${rcpt}>`);
    const data = rcptTo.startsWith('250') ? await client.data(mail(subject)) : '';
    return { mailFrom, rcptTo, data };
  } finally {
    client.socket.destroy();
  }
}

const subjects = async (sys: System, box: { address: string; token: string }, n: number) =>
  (await sys.waitForMessages(box.address, box.token, n)).map((m: { subject: string }) => m.subject).sort();

test('a quoted local part ("box"@domain) is delivered to box@domain, not accepted and then dropped', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const [local, domain] = box.address.split('@');
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [`"${local}"@${domain}`], mail('quoted'));
  t.regex(r.data, /^250 /);
  t.deepEqual(await subjects(sys, box, 1), ['quoted']);
});

test('an internationalised mail domain receives mail in punycode and, with SMTPUTF8, in Unicode', async (t) => {
  const { sys } = t.context;
  const created = await sys.json('/api/v1/mailboxes?domain=b%C3%BCcher.test', { method: 'POST' });
  t.is(created.status, 201, JSON.stringify(created.body));
  const box = created.body as { address: string; token: string };
  t.regex(box.address, /@xn--bcher-kva\.test$/, 'stored and shown in punycode');
  const local = box.address.split('@')[0];
  const puny = await sendUtf8(sys.smtpPort, `${local}@xn--bcher-kva.test`, 'punycode', false);
  t.regex(puny.rcptTo, /^250/, puny.rcptTo);
  t.regex(puny.data, /^250 /);
  const unicode = await sendUtf8(sys.smtpPort, `${local}@bücher.test`, 'unicode', true);
  t.regex(unicode.rcptTo, /^250/, unicode.rcptTo);
  t.regex(unicode.data, /^250 /);
  t.deepEqual(await subjects(sys, box, 2), ['punycode', 'unicode']);
  // another domain is still refused (no relaying)
  t.regex((await sendUtf8(sys.smtpPort, `${local}@bücher.example`, 'relay', true)).rcptTo, /^550 5\.7\.1 /);
});
