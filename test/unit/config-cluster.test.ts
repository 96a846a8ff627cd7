import test from 'ava';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { parseClusterUrl } from '../../src/core/redis-url.js';
import { queuePlace } from '../../src/queue/factory.js';
import { groupByShard, inboundShardName, shardOf } from '../../src/queue/shards.js';

test('redis+cluster:// is a list of seed nodes with optional credentials; rediss+cluster:// turns TLS on', (t) => {
  t.deepEqual(parseClusterUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001'), {
    nodes: [
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ],
    tls: false,
  });
  t.deepEqual(parseClusterUrl('rediss+cluster://app:p%40ss@[::1]:7000,h2/'), {
    nodes: [
      { host: '::1', port: 7000 },
      { host: 'h2', port: 6379 },
    ],
    username: 'app',
    password: 'p@ss',
    tls: true,
  });
  t.throws(() => parseClusterUrl('redis+cluster://h1:7000/2'), { message: /database 0 only/ });
  t.throws(() => parseClusterUrl('redis+cluster://'), { message: /no seed node/ });
  t.throws(() => parseClusterUrl('redis+cluster://h1:70x0'), { message: /not host:port/ });
});

test('a cluster REDIS_URL: database 0, seed nodes in the config; a bad one or a hash-tagged QUEUE_PREFIX stops start-up', (t) => {
  const c = loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' });
  t.is(c.redis.db, 0);
  t.is(c.redis.cluster?.nodes.length, 2);
  t.is(loadConfig({}).redis.cluster, undefined, 'standalone stays the default');
  const tagged = t.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://h:1', QUEUE_PREFIX: '{mw}' }), {
    instanceOf: ConfigError,
  });
  t.regex(tagged.message, /QUEUE_PREFIX: "\{mw\}" holds a hash tag.*Set QUEUE_PREFIX=mw/s);
  t.notThrows(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: '{mw}' }), 'standalone: as before');
  t.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://h:1/3' }), {
    message: /REDIS_URL: a Redis Cluster has database 0 only/,
  });
  t.throws(() => loadConfig({ REDIS_URL: 'redis+cluster://h:1', INBOUND_SHARDS: '0' }), { message: /INBOUND_SHARDS/ });
});

test('WORKER_INBOUND_SHARDS: all by default, or a list of shards and ranges below INBOUND_SHARDS', (t) => {
  t.deepEqual(loadConfig({ INBOUND_SHARDS: '4' }).redis.workerShards, [0, 1, 2, 3]);
  t.deepEqual(loadConfig({ INBOUND_SHARDS: '8', WORKER_INBOUND_SHARDS: '6,0-2' }).redis.workerShards, [0, 1, 2, 6]);
  t.throws(() => loadConfig({ INBOUND_SHARDS: '4', WORKER_INBOUND_SHARDS: '2-4' }), { message: /outside 0-3/ });
  t.throws(() => loadConfig({ WORKER_INBOUND_SHARDS: 'some' }), { message: /WORKER_INBOUND_SHARDS/ });
});

test('queue placement: QUEUE_PREFIX on a standalone Redis (the keys of every release), its own hash tag per queue on a cluster', (t) => {
  t.deepEqual(queuePlace({ prefix: 'mw', cluster: undefined }, 'inbound'), { name: 'inbound', prefix: 'mw' });
  const cluster = { nodes: [{ host: 'h', port: 1 }], tls: false };
  t.deepEqual(queuePlace({ prefix: 'mw', cluster }, 'inbound-3'), { name: 'inbound-3', prefix: '{mw:inbound-3}' });
  t.is(inboundShardName(0, 1), 'inbound');
  t.is(inboundShardName(2, 4), 'inbound-2');
});

test('a recipient goes to the shard of its mailbox address: case, quotes and the tag do not move it', (t) => {
  const spread = new Set<number>();
  for (let i = 0; i < 64; i++) {
    const s = shardOf(`box${i}@mw.test`, 8, '+');
    spread.add(s);
    t.is(shardOf(`BOX${i}+tag@MW.test`, 8, '+'), s);
    t.is(shardOf(`"box${i}"@mw.test`, 8, '+'), s);
  }
  t.true(spread.size >= 6, `64 addresses over 8 shards: ${spread.size} used`);
  t.is(shardOf('anything@mw.test', 1, '+'), 0);
  const groups = groupByShard(['a@mw.test', 'A+x@mw.test', 'b@mw.test'], 4, '+');
  const ofA = groups.get(shardOf('a@mw.test', 4, '+'))!;
  t.true(ofA.includes('a@mw.test') && ofA.includes('A+x@mw.test'));
});
