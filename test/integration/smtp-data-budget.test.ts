import anyTest, { type TestFn } from 'ava';
import type { Gauge } from 'prom-client';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

// SMTP_MAX_DATA_BYTES_IN_FLIGHT (issue 24, item 6): the SMTP ingress holds at most that many message bytes at once,
// from DATA until the enqueue answered; a message that does not fit beside the others gets 452 4.3.1.
const LIMIT = 4096;
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['smtp'], env: { SMTP_MAX_DATA_BYTES_IN_FLIGHT: String(LIMIT) } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const held = async (sys: System) => {
  const g = sys.deps.metrics.registry.getSingleMetric('mailwright_smtp_data_bytes_in_flight') as Gauge;
  return (await g.get()).values[0]?.value ?? 0;
};
const mail = (subject: string, bytes: number) =>
  `From: a@example.org\r\nSubject: ${subject}\r\n\r\n` + ('y'.repeat(78) + '\r\n').repeat(Math.ceil(bytes / 80));

test.serial('messages queued one after the other give their bytes back: none is refused', async (t) => {
  const { sys } = t.context;
  for (let i = 0; i < 4; i++) {
    const r = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [`box@${TEST_DOMAIN}`], mail(`seq ${i}`, 3000));
    t.regex(r.data, /^250 /);
  }
  t.is(await held(sys), 0);
});

test.serial(
  'a message that does not fit beside one still in DATA gets 452 4.3.1; after that one is queued it fits',
  async (t) => {
    const { sys } = t.context;
    const { client: a } = await RawSmtp.open(sys.smtpPort);
    try {
      await a.command('EHLO a.test');
      await a.command('MAIL FROM:<a@example.org>');
      await a.command(`RCPT TO:<box@${TEST_DOMAIN}>`);
      t.regex(await a.command('DATA'), /^354/);
      a.socket.write(mail('held', 3000).replace(/\r\n$/, '') + '\r\n');
      // wait (not timed) until the ingress holds session A's bytes
      while ((await held(sys)) < 3000) await new Promise((r) => setTimeout(r, 10));
      const b = await RawSmtp.sendOnce(sys.smtpPort, 'b@example.org', [`box@${TEST_DOMAIN}`], mail('refused', 3000));
      t.is(b.data, '452 4.3.1 Insufficient system storage, try again later');
      t.true((await held(sys)) >= 3000 && (await held(sys)) <= LIMIT, "B's bytes were given back, A's are still held");
      a.socket.write('.\r\n');
      t.regex(await a.reply(), /^250 /);
      const again = await RawSmtp.sendOnce(sys.smtpPort, 'b@example.org', [`box@${TEST_DOMAIN}`], mail('again', 3000));
      t.regex(again.data, /^250 /);
      t.is(await held(sys), 0);
    } finally {
      a.socket.destroy();
    }
  },
);
