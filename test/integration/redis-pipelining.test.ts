import test from 'ava';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/core/config.js';
import { connectRedis } from '../../src/core/redis.js';
import { loadPipelining } from '../../src/queue/pipelining.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

/** Count the writes ioredis makes on its socket while `fn` runs (observation only: the commands still go to Redis). */
async function socketWrites(redis: Redis, fn: () => Promise<unknown>): Promise<number> {
  const stream = (redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const original = stream.write;
  let writes = 0;
  stream.write = function (this: unknown, ...args: unknown[]) {
    writes++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    stream.write = original;
  }
  return writes;
}

/** Promise.withResolvers is Node 22+ */
const gate = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

const twentyInOneTurn = (redis: Redis) => Promise.all(Array.from({ length: 20 }, (_, i) => redis.echo(`m${i}`)));

test('REDIS_AUTO_PIPELINING=on: commands of one event-loop turn leave in one write, with every reply in order', async (t) => {
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_AUTO_PIPELINING: 'on' });
  t.is(config.redis.autoPipelining, 'on');
  t.is(
    loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_AUTO_PIPELINING: 'true' }).redis.autoPipelining,
    'on',
    '"true" (the old boolean) still means on',
  );
  for (const role of ['producer', 'worker', 'command'] as const) {
    const redis = (await connectRedis(config, role)) as Redis;
    try {
      let replies: string[] = [];
      const writes = await socketWrites(redis, async () => {
        replies = await twentyInOneTurn(redis);
      });
      t.is(writes, 1, role);
      t.deepEqual(
        replies,
        Array.from({ length: 20 }, (_, i) => `m${i}`),
        role,
      );
    } finally {
      redis.disconnect();
    }
  }
});

test('REDIS_AUTO_PIPELINING=false (off), and the subscriber connection always: one write per command', async (t) => {
  const off = (await connectRedis(
    loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_AUTO_PIPELINING: 'false' }),
    'worker',
  )) as Redis;
  const sub = (await connectRedis(loadConfig({ REDIS_URL: TEST_REDIS_URL }), 'subscriber')) as Redis;
  try {
    for (const redis of [off, sub]) {
      let replies: string[] = [];
      const writes = await socketWrites(redis, async () => {
        replies = await twentyInOneTurn(redis);
      });
      t.is(writes, 20);
      t.is(replies.length, 20);
    }
  } finally {
    off.disconnect();
    sub.disconnect();
  }
});

test('REDIS_AUTO_PIPELINING=adaptive (default): one write per command while idle, one write per turn while busy, and back', async (t) => {
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL });
  t.is(config.redis.autoPipelining, 'adaptive');
  t.is(config.redis.autoPipeliningBusy, 4);
  const redis = (await connectRedis(config, 'worker')) as Redis;
  const load = loadPipelining(config);
  load.follow(redis);
  try {
    t.is(await socketWrites(redis, () => twentyInOneTurn(redis)), 20, 'idle: off');

    // four units of work in flight (REDIS_AUTO_PIPELINING_BUSY) turn it on
    const gates = Array.from({ length: 4 }, gate);
    const units = gates.map((g) => load.busy(g.promise));
    t.is(load.inFlight(), 4);
    let replies: string[] = [];
    t.is(
      await socketWrites(redis, async () => {
        replies = await twentyInOneTurn(redis);
      }),
      1,
      'busy: on',
    );
    t.deepEqual(
      replies,
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );

    // three settle: still on down to one in flight (hysteresis), off at one
    gates[0]!.resolve();
    gates[1]!.resolve();
    await Promise.all(units.slice(0, 2));
    t.is(await socketWrites(redis, () => twentyInOneTurn(redis)), 1, 'two in flight: still on');
    gates[2]!.resolve();
    await units[2];
    t.is(await socketWrites(redis, () => twentyInOneTurn(redis)), 20, 'one in flight: off again');
    gates[3]!.resolve();
    await units[3];
    t.is(load.inFlight(), 0);
  } finally {
    redis.disconnect();
  }
});

test('adaptive: it is not switched off while commands wait in an auto-pipeline, so no command overtakes another', async (t) => {
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_AUTO_PIPELINING_BUSY: '2' });
  const redis = (await connectRedis(config, 'worker')) as Redis;
  const load = loadPipelining(config);
  load.follow(redis);
  try {
    const a = gate();
    const b = gate();
    const ua = load.busy(a.promise);
    const ub = load.busy(b.promise);
    const key = `mw-pipelining-order-${process.pid}`;
    await redis.del(key);
    // queued in the auto-pipeline of this turn...
    const first = [redis.rpush(key, '1'), redis.rpush(key, '2')];
    // ...then the load drops in the same turn: the switch-off must wait for that pipeline
    a.resolve();
    b.resolve();
    await Promise.all([ua, ub]);
    t.true(redis.options.enableAutoPipelining, 'still on: two commands were waiting in the pipeline');
    const later = redis.rpush(key, '3');
    await Promise.all([...first, later]);
    t.deepEqual(await redis.lrange(key, 0, -1), ['1', '2', '3']);
    // the next unit that settles with nothing pending switches it off
    await load.busy(Promise.resolve());
    t.false(redis.options.enableAutoPipelining);
    await redis.del(key);
  } finally {
    redis.disconnect();
  }
});
