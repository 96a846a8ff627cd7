import test from 'ava';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/core/config.js';
import { connectRedis } from '../../src/queue/connection.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

/** Count the writes ioredis makes on its socket while `fn` runs (observation only: the commands still go to Redis). */
async function socketWrites(redis: Redis, fn: () => Promise<unknown>): Promise<number> {
  const stream = (redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const original = stream.write;
  let writes = 0;
  stream.write = function (this: unknown, ...args: unknown[]) { writes++; return original.apply(this, args); };
  try {
    await fn();
  } finally {
    stream.write = original;
  }
  return writes;
}

const twentyInOneTurn = (redis: Redis) => Promise.all(Array.from({ length: 20 }, (_, i) => redis.echo(`m${i}`)));

test('REDIS_AUTO_PIPELINING (default on): commands of one event-loop turn leave in one write, with every reply in order', async (t) => {
  const config = loadConfig({ REDIS_URL: TEST_REDIS_URL });
  t.true(config.redis.autoPipelining);
  for (const role of ['producer', 'worker', 'command'] as const) {
    const redis = await connectRedis(config, role);
    try {
      let replies: string[] = [];
      const writes = await socketWrites(redis, async () => { replies = await twentyInOneTurn(redis); });
      t.is(writes, 1, role);
      t.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `m${i}`), role);
    } finally {
      redis.disconnect();
    }
  }
});

test('REDIS_AUTO_PIPELINING=false, and the subscriber connection always: one write per command', async (t) => {
  const off = await connectRedis(loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_AUTO_PIPELINING: 'false' }), 'worker');
  const sub = await connectRedis(loadConfig({ REDIS_URL: TEST_REDIS_URL }), 'subscriber');
  try {
    for (const redis of [off, sub]) {
      let replies: string[] = [];
      const writes = await socketWrites(redis, async () => { replies = await twentyInOneTurn(redis); });
      t.is(writes, 20);
      t.is(replies.length, 20);
    }
  } finally {
    off.disconnect();
    sub.disconnect();
  }
});
