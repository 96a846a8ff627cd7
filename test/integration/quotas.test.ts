import anyTest, { type TestFn } from 'ava';
import { largestPlanMessageBytes } from '../../src/ops/plan-limits.js';
import { eventually } from '../helpers/events.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

const TINY = {
  id: 'tiny',
  name: 'Tiny',
  default_ttl_minutes: 10,
  max_ttl_minutes: 60,
  max_messages_per_mailbox: 5,
  max_message_bytes: 4_000,
  max_active_mailboxes: 3,
};

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
  await t.context.sys.deps.db('plans').insert(TINY);
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const mailboxState = async (sys: System, address: string, apiKey: string) => {
  const r = await sys.json(`/api/v1/mailboxes/${address}`, { token: apiKey });
  if (r.status !== 200) throw new Error(`GET mailbox: ${r.status}`);
  return r.body as { message_count: number; dropped_count: number };
};

test('20 concurrent deliveries into a mailbox whose plan holds 5 store exactly 5; the rest are counted as dropped', async (t) => {
  const { sys } = t.context;
  const { apiKey } = await createUserWithKey(sys.deps.stores, TINY.id);
  const box = await sys.createMailbox('', apiKey);
  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], `Subject: n${i}\r\n\r\nbody ${i}\r\n`),
    ),
  );
  t.true(
    replies.every((r) => r.data.startsWith('250')),
    'SMTP accepts all 20 (the ingress never reads the database)',
  );
  const state = await eventually(
    async () => {
      const s = await mailboxState(sys, box.address, apiKey);
      return s.message_count + s.dropped_count === 20 ? s : undefined;
    },
    20_000,
    50,
  );
  t.is(state.message_count, 5);
  t.is(state.dropped_count, 15);
  const list = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: apiKey });
  t.is(list.body.length, 5);
  t.is(new Set(list.body.map((m: { subject: string }) => m.subject)).size, 5);
});

test("a message over the plan's size is accepted by SMTP, then dropped by the worker and counted", async (t) => {
  const { sys } = t.context;
  const { apiKey } = await createUserWithKey(sys.deps.stores, TINY.id);
  const box = await sys.createMailbox('', apiKey);
  const big = await RawSmtp.sendOnce(
    sys.smtpPort,
    'a@example.org',
    [box.address],
    `Subject: big\r\n\r\n${'x'.repeat(6_000)}\r\n`,
  );
  const small = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], 'Subject: small\r\n\r\nfits\r\n');
  t.regex(big.data, /^250 /);
  t.regex(small.data, /^250 /);
  const state = await eventually(
    async () => {
      const s = await mailboxState(sys, box.address, apiKey);
      return s.message_count + s.dropped_count === 2 ? s : undefined;
    },
    10_000,
    25,
  );
  t.deepEqual([state.message_count, state.dropped_count], [1, 1]);
  const list = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: apiKey });
  t.deepEqual(
    list.body.map((m: { subject: string }) => m.subject),
    ['small'],
  );
});

test('SMTP advertises a SIZE at least as large as the largest plan allows', async (t) => {
  const { sys } = t.context;
  const { client } = await RawSmtp.open(sys.smtpPort);
  try {
    const ehlo = await client.command('EHLO test.local');
    const size = Number(/^250[- ]SIZE (\d+)$/m.exec(ehlo)?.[1]);
    t.is(size, sys.config.mail.maxMessageBytes);
    t.true(size >= largestPlanMessageBytes(await sys.deps.stores.plans.all()), `SIZE ${size}`);
  } finally {
    client.socket.destroy();
  }
});

test('concurrent creations never exceed the active-mailbox limit (403 mailbox_limit_reached)', async (t) => {
  const { sys } = t.context;
  const { apiKey, userId } = await createUserWithKey(sys.deps.stores, TINY.id);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => sys.json('/api/v1/mailboxes', { method: 'POST', token: apiKey })),
  );
  const created = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status === 403);
  t.is(created.length, 3);
  t.is(refused.length, 7);
  t.true(refused.every((r) => r.body.error.code === 'mailbox_limit_reached'));
  t.is(await sys.deps.stores.mailboxes.countActiveByOwner(userId), 3);
  // deleting one frees a slot
  t.is(
    (await sys.api(`/api/v1/mailboxes/${created[0]!.body.address}`, { method: 'DELETE', token: apiKey })).status,
    204,
  );
  t.is((await sys.json('/api/v1/mailboxes', { method: 'POST', token: apiKey })).status, 201);
});
