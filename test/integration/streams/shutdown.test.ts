import anyTest, { type TestFn } from 'ava';
import { openSse, openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('closing the web role ends open streams promptly, telling clients to reconnect', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const ws = await openWs(wsUrl(sys.baseUrl, `/api/v1/mailboxes/${box.address}/ws`), { token: box.token });
  const sse = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${box.address}/events`, { token: box.token });
  await Promise.all([ws.next((f) => f.type === 'ready'), sse.next((e) => e.event === 'ready')]);
  const started = Date.now();
  await sys.web!.close();
  t.true(Date.now() - started < 3_000, `close took ${Date.now() - started} ms`);
  await ws.inbox.ended(3_000);
  await sse.inbox.ended(3_000);
  t.is(ws.closeCode, 1012);
  t.deepEqual(sse.inbox.all.find((e) => e.event === 'reconnect')?.data, { type: 'reconnect', reason: 'shutdown' });
  t.is(sys.web!.streams.registry.size(), 0);
  t.is(sys.web!.streams.hub.size(), 0);
});
