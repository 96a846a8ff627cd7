import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { redisPublisher, type Publisher } from '../../../src/pubsub/events.js';
import { TEST_REDIS_URL, uniquePrefix } from '../../helpers/redis.js';
import { openSse, openWs, wsUrl } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';

// A publisher that loses every event whose subject contains "lost" (a Redis pub/sub cut for those).
const test = anyTest as TestFn<{ sys: System; redis: Redis }>;
test.before(async (t) => {
  const prefix = uniquePrefix();
  t.context.redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const real = redisPublisher(t.context.redis, prefix);
  const lossy: Publisher = {
    async publish(e) {
      if (e.type === 'new_message' && e.message.subject?.includes('lost')) throw new Error('simulated pub/sub cut');
      await real.publish(e);
    },
  };
  t.context.sys = await startSystem({ prefix, overrides: { publisher: lossy } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  t.context.redis?.disconnect();
});

const wsOf = (sys: System, address: string, q = '') => wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws${q}`);
const cursors = (frames: any[]) => frames.filter((f) => f.type === 'new_message').map((f) => Number(f.cursor));
const publishFailures = async (sys: System) =>
  (await sys.deps.metrics.publishFailures.get()).values.reduce((n, v) => n + v.value, 0);

async function until(check: () => Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.serial(
  'WebSocket resume with ?since= replays what was delivered while away, exactly once each, in order, then goes live',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox('?ttl_minutes=30');
    const first = await openWs(wsOf(sys, box.address), { token: box.token });
    await sys.send({ to: box.address, subject: 'm1', text: '1' });
    const got = await first.next((f) => f.type === 'new_message');
    first.close();
    await first.inbox.ended();
    for (const n of [2, 3, 4]) await sys.send({ to: box.address, subject: `m${n}`, text: String(n) });
    await sys.waitForMessages(box.address, box.token, 4);
    const again = await openWs(wsOf(sys, box.address, `?since=${got.cursor}`), { token: box.token });
    t.deepEqual(await again.next(), { type: 'ready', cursor: '1' });
    await again.next((f) => f.type === 'new_message' && f.cursor === '4');
    await sys.send({ to: box.address, subject: 'm5', text: '5' });
    const live = await again.next((f) => f.type === 'new_message' && f.cursor === '5');
    t.is(live.message.subject, 'm5');
    t.deepEqual(cursors(again.inbox.all), [2, 3, 4, 5]);
    t.deepEqual(
      again.inbox.all.filter((f) => f.type === 'new_message').map((f) => f.message.subject),
      ['m2', 'm3', 'm4', 'm5'],
    );
    again.close();
  },
);

test.serial('SSE resume with Last-Event-ID while mail keeps arriving: no gap, no duplicate', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  for (const n of [1, 2]) await sys.send({ to: box.address, subject: `s${n}`, text: 'x' });
  await sys.waitForMessages(box.address, box.token, 2);
  // reconnect from cursor 1 while six more are being delivered concurrently
  const sending = Promise.all(
    [3, 4, 5, 6, 7, 8].map((n) => sys.send({ to: box.address, subject: `s${n}`, text: 'x' })),
  );
  const s = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${box.address}/events?since=0`, {
    token: box.token,
    lastEventId: '1',
  });
  t.is((await s.next((e) => e.event === 'ready')).id, '1'); // Last-Event-ID wins over ?since (EventSource reconnects keep the first URL)
  await sending;
  await s.next((e) => e.event === 'new_message' && e.id === '8');
  const ids = s.inbox.all.filter((e) => e.event === 'new_message').map((e) => Number(e.id));
  t.deepEqual(ids, [2, 3, 4, 5, 6, 7, 8]);
  s.close();
});

test.serial(
  'a publish lost while a client is connected is recovered live at the next event (catch-up from Postgres)',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox('?ttl_minutes=30');
    const client = await openWs(wsOf(sys, box.address), { token: box.token });
    await client.next((f) => f.type === 'ready');
    const failuresBefore = await publishFailures(sys);
    await sys.send({ to: box.address, subject: 'lost one', text: 'x' });
    await until(async () => (await publishFailures(sys)) > failuresBefore, 'the failed publish');
    t.deepEqual(cursors(client.inbox.all), []);
    await sys.send({ to: box.address, subject: 'kept two', text: 'x' });
    await client.next((f) => f.type === 'new_message' && f.cursor === '2');
    t.deepEqual(
      client.inbox.all.filter((f) => f.type === 'new_message').map((f) => [f.cursor, f.message.subject]),
      [
        ['1', 'lost one'],
        ['2', 'kept two'],
      ],
    );
    client.close();
  },
);

test.serial('publish failures then reconnect: everything committed meanwhile is replayed', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const client = await openWs(wsOf(sys, box.address), { token: box.token });
  const ready = await client.next((f) => f.type === 'ready');
  const failuresBefore = await publishFailures(sys);
  for (const n of [1, 2, 3]) await sys.send({ to: box.address, subject: `lost ${n}`, text: 'x' });
  await until(async () => (await publishFailures(sys)) >= failuresBefore + 3, 'three failed publishes');
  t.deepEqual(cursors(client.inbox.all), []); // nothing reached the stream
  client.close();
  const back = await openWs(wsOf(sys, box.address, `?since=${ready.cursor}`), { token: box.token });
  await back.next((f) => f.type === 'new_message' && f.cursor === '3');
  t.deepEqual(
    back.inbox.all.filter((f) => f.type === 'new_message').map((f) => f.message.subject),
    ['lost 1', 'lost 2', 'lost 3'],
  );
  back.close();
});
