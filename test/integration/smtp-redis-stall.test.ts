import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const test = anyTest as TestFn<{ sys: System; proxy: TcpProxy }>;
// every role reaches Redis through a proxy the test can hold: Redis then receives nothing and answers nothing
test.before(async (t) => {
  const proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
  const sys = await startSystem({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ENQUEUE_TIMEOUT_MS: '300' } });
  t.context = { sys, proxy };
});
test.after.always(async (t) => {
  t.context.proxy?.release();
  await t.context.sys?.stop();
  await t.context.proxy?.close();
});

const mail = (to: string, subject: string) => `From: a@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

test("Redis stalls past ENQUEUE_TIMEOUT_MS: 451, and the add Redis runs later is withdrawn, so the sender's retry is stored once", async (t) => {
  const { sys, proxy } = t.context;
  const box = await sys.createMailbox();
  const { client } = await RawSmtp.open(sys.smtpPort);
  try {
    t.regex(await client.command('EHLO test.local'), /^250/);
    t.regex(await client.command('MAIL FROM:<a@example.org>'), /^250/);
    t.regex(await client.command(`RCPT TO:<${box.address}>`), /^250/);
    proxy.hold();
    const started = Date.now();
    t.regex(await client.data(mail(box.address, 'stalled')), /^451 4\.3\.0 /);
    t.true(Date.now() - started < 3_000, 'answered within a few seconds');
  } finally {
    client.socket.destroy();
  }
  // Redis gets the add (and then the withdrawal) only now
  proxy.release();
  await new Promise((r) => setTimeout(r, 1_000));
  t.deepEqual(
    await sys.deps.queues.inbound.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed'),
    { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 },
    "no job left from the 451'd transaction",
  );

  // the sender retries: one copy, not two
  const retry = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], mail(box.address, 'stalled'));
  t.regex(retry.data, /^250 /);
  const list = await sys.waitForMessages(box.address, box.token, 1);
  await new Promise((r) => setTimeout(r, 500));
  const again = (await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body;
  t.is(list.length, 1);
  t.is(again.length, 1, 'stored once');
});
