import anyTest, { type TestFn } from 'ava';
import { loadConfig } from '../../../src/core/config.js';
import { connectRedis } from '../../../src/core/redis.js';
import { startRedisCluster, type TestCluster } from '../../helpers/redis-cluster.js';
import { openSse } from '../../helpers/stream-clients.js';
import { startSystem, TEST_DOMAIN, type System } from '../../helpers/system.js';
import { until } from '../faults/mode.js';

// The whole system on a private 3-master Redis Cluster (REDIS_URL=redis+cluster://…), the inbound queue in 3 shards.
const test = anyTest.serial as TestFn<{ cluster: TestCluster; sys: System }>;

test.before(async (t) => {
  const cluster = await startRedisCluster({ masters: 3 });
  const sys = await startSystem({
    env: { REDIS_URL: cluster.url, INBOUND_SHARDS: '3', RATE_LIMIT_CREATE_IP_POINTS: '12' },
  }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  t.context = { cluster, sys };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.cluster?.stop();
});

test('create, SMTP, SSE stream, blocking wait and delete on a cluster; the queues sit on several masters', async (t) => {
  const { sys, cluster } = t.context;
  t.is((await sys.json('/readyz')).status, 200);
  const boxes = await Promise.all(Array.from({ length: 6 }, () => sys.createMailbox()));
  const shards = new Set(boxes.map((b) => sys.deps.queues.inboundPlan(100, [b.address])[0]!.queue.name));
  t.true(shards.size >= 2, `6 mailboxes spread over the shards (${[...shards].join(', ')})`);

  const first = boxes[0]!;
  const sse = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${first.address}/events`, { token: first.token });
  t.is(sse.status, 200);
  // sharded pub/sub: the mailbox's channel is a shard channel on the master owning its slot, not a global channel
  // (the web role subscribes once the stream is open: wait for it)
  const shardChannels = async () =>
    (
      await Promise.all(
        (await cluster.masters()).map((m) => cluster.admin(m.port).call('PUBSUB', 'SHARDCHANNELS', '*:mailbox:*')),
      )
    ).flat();
  await until(async () => (await shardChannels()).length > 0, 10_000, 'the stream subscribed');
  t.is((await shardChannels()).length, 1, 'one shard channel: the streamed mailbox');
  const globalChannels = await cluster.admin(cluster.nodes[0]!.port).call('PUBSUB', 'CHANNELS', '*');
  t.deepEqual(globalChannels, []);
  const waiting = sys.json(`/api/v1/mailboxes/${first.address}/messages?wait=20&subject=wake`, { token: first.token });
  // one message to every mailbox: one job per shard, each stored once
  const reply = await sys.send({ to: boxes.map((b) => b.address), subject: 'wake', text: 'hello cluster' });
  t.regex(reply.response, /^250/);
  const event = await sse.next((e) => e.event === 'new_message', 10_000);
  t.is(event?.data?.message?.subject, 'wake');
  const woke = await waiting;
  t.is(woke.status, 200);
  t.is(woke.body[0].subject, 'wake');
  for (const b of boxes) t.is((await sys.waitForMessages(b.address, b.token, 1)).length, 1);

  // every master holds some of the deployment's keys: queues and limiter counters spread
  const perNode = await Promise.all(
    (await cluster.masters()).map(
      async (m) => (await cluster.admin(m.port).keys(`*${sys.config.redis.prefix}*`)).length,
    ),
  );
  t.true(perNode.filter((n) => n > 0).length >= 2, `keys per master: ${perNode.join(', ')}`);

  const del = await sys.api(`/api/v1/mailboxes/${first.address}`, { method: 'DELETE', token: first.token });
  t.is(del.status, 204);
  const gone = await sse.next((e) => e.event === 'mailbox_expired', 10_000);
  t.is(gone?.data?.reason, 'deleted');
  sse.close();
});

test('rate limits count on a cluster: the creation budget runs out with 429', async (t) => {
  const { sys } = t.context;
  let status = 0;
  for (let i = 0; i < 20 && status !== 429; i++)
    status = (await sys.api('/api/v1/mailboxes', { method: 'POST' })).status;
  t.is(status, 429);
});

test('start-up refuses a standalone REDIS_URL that names a cluster node, and a hash-tagged prefix on a cluster', async (t) => {
  const { cluster } = t.context;
  const node = `redis://127.0.0.1:${cluster.nodes[0]!.port}`;
  const err = await t.throwsAsync(connectRedis(loadConfig({ REDIS_URL: node }), 'producer'));
  t.regex(err.message, /names a node of a Redis Cluster.*redis\+cluster:\/\//s);
  t.throws(() => loadConfig({ REDIS_URL: cluster.url, QUEUE_PREFIX: '{mw}' }), {
    message: /QUEUE_PREFIX.*Set QUEUE_PREFIX=mw/s,
  });
});

test(`addresses of ${TEST_DOMAIN} with a tag go to the shard of their mailbox`, (t) => {
  const { sys } = t.context;
  const plan = (a: string) => sys.deps.queues.inboundPlan(100, [a])[0]!.queue.name;
  for (let i = 0; i < 20; i++) {
    const box = `box${i}@${TEST_DOMAIN}`;
    t.is(plan(`Box${i}+signup@${TEST_DOMAIN.toUpperCase()}`), plan(box));
  }
});
