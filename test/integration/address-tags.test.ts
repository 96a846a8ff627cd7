import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { openSse, openWs, wsUrl } from '../helpers/stream-clients.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const local = (address: string) => address.split('@')[0]!;
const raw = (subject: string) => `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

test('mail to box+Signup@domain is accepted and stored in box@domain with the tag (lower-cased), shown in the list and the message', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  await sys.send({ to: `${local(box.address)}+Signup@${TEST_DOMAIN}`, subject: 'tagged', text: 'x' });
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  t.is(item.tag, 'signup');
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
  t.is(full.body.tag, 'signup');
  const untagged = await sys.createMailbox();
  await sys.send({ to: untagged.address, subject: 'plain', text: 'x' });
  t.is((await sys.waitForMessages(untagged.address, untagged.token, 1))[0].tag, null);
});

test('one SMTP transaction to box+a@, box+b@, box@ (and box+a@ twice) stores one message per distinct recipient, each with its tag', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = local(box.address);
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'a@example.org',
    [`${l}+a@${TEST_DOMAIN}`, `${l}+b@${TEST_DOMAIN}`, box.address, `${l}+A@${TEST_DOMAIN}`],
    raw('fan-out'),
  );
  t.true(
    r.rcpts.every((x: string) => x.startsWith('250')),
    JSON.stringify(r.rcpts),
  );
  t.regex(r.data, /^250 /);
  const items = await sys.waitForMessages(box.address, box.token, 3);
  // a moment more: a fourth (the repeated +A) would have come with the others
  await new Promise((res) => setTimeout(res, 300));
  const again = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.is(again.body.length, 3);
  t.deepEqual(items.map((m: { tag: string | null }) => m.tag).sort(), ['a', 'b', null].sort());
});

test('?tag= filters the list (case-insensitive); a bad tag is 400 invalid_tag', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = local(box.address);
  await sys.send({ to: `${l}+one@${TEST_DOMAIN}`, subject: 'one', text: 'x' });
  await sys.send({ to: `${l}+two@${TEST_DOMAIN}`, subject: 'two', text: 'x' });
  await sys.send({ to: box.address, subject: 'none', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 3);
  const one = await sys.json(`/api/v1/mailboxes/${box.address}/messages?tag=ONE`, { token: box.token });
  t.deepEqual(
    one.body.map((m: { subject: string }) => m.subject),
    ['one'],
  );
  const none = await sys.json(`/api/v1/mailboxes/${box.address}/messages?tag=three`, { token: box.token });
  t.deepEqual(none.body, []);
  for (const bad of ['', 'x'.repeat(65)]) {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?tag=${bad}`, { token: box.token });
    t.is(r.status, 400);
    t.is(r.body.error.code, 'invalid_tag');
  }
  const twice = await sys.json(`/api/v1/mailboxes/${box.address}/messages?tag=a&tag=b`, { token: box.token });
  t.is(twice.body.error.code, 'invalid_tag');
});

test('the wait with ?tag= returns only a message with that tag', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = local(box.address);
  const waiting = sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&tag=code`, { token: box.token });
  await new Promise((res) => setTimeout(res, 300));
  await sys.send({ to: `${l}+other@${TEST_DOMAIN}`, subject: 'other', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  await sys.send({ to: `${l}+code@${TEST_DOMAIN}`, subject: 'the code', text: '123456' });
  const r = await waiting;
  t.is(r.status, 200);
  t.deepEqual(
    r.body.map((m: { subject: string; tag: string }) => [m.subject, m.tag]),
    [['the code', 'code']],
  );
});

test('SSE and WebSocket with ?tag= send only frames of that tag, live and in replay; frames carry the tag', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = local(box.address);
  const path = `/api/v1/mailboxes/${encodeURIComponent(box.address)}`;
  const sse = await openSse(`${sys.baseUrl}${path}/events?tag=keep`, { token: box.token });
  const ws = await openWs(wsUrl(sys.baseUrl, `${path}/ws?tag=keep`), { token: box.token });
  const all = await openSse(`${sys.baseUrl}${path}/events`, { token: box.token });
  try {
    t.is(sse.status, 200);
    await sse.next((e) => e.event === 'ready');
    await ws.next((f) => f.type === 'ready');
    await all.next((e) => e.event === 'ready');
    await sys.send({ to: `${l}+skip@${TEST_DOMAIN}`, subject: 'skip', text: 'x' });
    await all.next((e) => e.event === 'new_message'); // the skipped one is committed before the next is sent
    await sys.send({ to: `${l}+keep@${TEST_DOMAIN}`, subject: 'keep', text: 'x' });
    const s = await sse.next((e) => e.event === 'new_message');
    t.is(s.data.message.subject, 'keep');
    t.is(s.data.message.tag, 'keep');
    t.is(s.id, '2', "the cursor is the message's own");
    const w = await ws.next((f) => f.type === 'new_message');
    t.is(w.message.subject, 'keep');
    const untagged = await all.next((e) => e.event === 'new_message');
    t.is(untagged.data.message.tag, 'keep', 'without ?tag= every frame comes, with its tag');
  } finally {
    sse.close();
    ws.close();
    all.close();
  }
  const replay = await openSse(`${sys.baseUrl}${path}/events?since=0&tag=keep`, { token: box.token });
  try {
    await replay.next((e) => e.event === 'ready');
    const first = await replay.next((e) => e.event === 'new_message');
    t.is(first.data.message.subject, 'keep', 'the replay skips the other tag');
    t.is(first.id, '2');
  } finally {
    replay.close();
  }
  const bad = await openSse(`${sys.baseUrl}${path}/events?tag=`, { token: box.token });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_tag');
});

test('many tagged deliveries at once (the batched write) keep each tag', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = local(box.address);
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => sys.send({ to: `${l}+t${i}@${TEST_DOMAIN}`, subject: `s${i}`, text: 'x' })),
  );
  const items = await sys.waitForMessages(box.address, box.token, 12);
  t.deepEqual(
    items.map((m: { subject: string; tag: string }) => `${m.subject}:${m.tag}`).sort(),
    Array.from({ length: 12 }, (_, i) => `s${i}:t${i}`).sort(),
  );
});
