import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { openSse, openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';
import { createUserWithKey } from '../../helpers/users.js';

// One worker + SMTP, and two web-only processes sharing its database and QUEUE_PREFIX.
const test = anyTest as TestFn<{ core: System; webA: System; webB: System }>;
test.before(async (t) => {
  const TOKEN_SECRET = randomBytes(32).toString('hex');
  t.context.core = await startSystem({ roles: ['smtp', 'worker'], env: { TOKEN_SECRET } });
  const shared = {
    database: t.context.core.database,
    prefix: t.context.core.config.redis.prefix,
    env: { TOKEN_SECRET },
  };
  t.context.webA = await startSystem({ ...shared, roles: ['web'] });
  t.context.webB = await startSystem({ ...shared, roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.webA?.stop();
  await t.context.webB?.stop();
  await t.context.core?.stop();
});

// serial: it counts every listener of web B's hub, so no other test of this file may hold one meanwhile
// (ava runs serial tests first, one at a time, before the concurrent ones)
test.serial('a message delivered by the worker reaches subscribers on both web processes', async (t) => {
  const { core, webA, webB } = t.context;
  const box = await webA.createMailbox('?ttl_minutes=30');
  const onA = await openWs(wsUrl(webA.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: box.token });
  const onB = await openSse(`${webB.baseUrl}/api/v1/mailboxes/${box.address}/events?token=${box.token}`);
  const onB2 = await openWs(wsUrl(webB.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: box.token });
  await Promise.all([
    onA.next((f) => f.type === 'ready'),
    onB.next((e) => e.event === 'ready'),
    onB2.next((f) => f.type === 'ready'),
  ]);
  await core.send({ to: box.address, subject: 'fan out', text: 'x' });
  const [a, b, b2] = await Promise.all([
    onA.next((f) => f.type === 'new_message'),
    onB.next((e) => e.event === 'new_message'),
    onB2.next((f) => f.type === 'new_message'),
  ]);
  t.is(a.message.subject, 'fan out');
  t.deepEqual(b.data, a);
  t.deepEqual(b2, a);
  // both streams of web B are registered with its in-process hub (fed by its single subscriber)
  t.is(webB.web!.streams.hub.size(), 2);
  t.is(webB.web!.streams.registry.size(), 2);
  onA.close();
  onB.close();
  onB2.close();
});

test('a blocking wait on one web process is woken by a delivery from the worker', async (t) => {
  const { core, webB } = t.context;
  const box = await webB.createMailbox('?ttl_minutes=30');
  const started = Date.now();
  const waiting = webB.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=wake`, { token: box.token });
  await core.send({ to: box.address, subject: 'please wake up', text: 'x' });
  const r = await waiting;
  t.is(r.status, 200);
  t.is(r.body.length, 1);
  t.true(Date.now() - started < 15_000);
});

// streams on web A only: the tests above count the streams and waits on web B's hub
test("revoking an API key on one web process closes that key's streams on the other", async (t) => {
  const { webA, webB } = t.context;
  const { apiKey, keyId } = await createUserWithKey(webA.deps.stores);
  const box = await webA.createMailbox('?ttl_minutes=30', apiKey);
  const onA = await openWs(wsUrl(webA.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: apiKey });
  const onASse = await openSse(`${webA.baseUrl}/api/v1/mailboxes/${box.address}/events`, { token: apiKey });
  await Promise.all([onA.next((f) => f.type === 'ready'), onASse.next((e) => e.event === 'ready')]);
  t.is((await webB.api(`/api/v1/keys/${keyId}`, { method: 'DELETE', token: apiKey })).status, 204);
  await onA.inbox.ended(3_000);
  await onASse.inbox.ended(3_000);
  t.is(onA.closeCode, 1008);
  t.is(onA.closeReason, 'api_key_revoked');
  t.is(onASse.inbox.all.at(-1)?.event, 'api_key_revoked');
});
