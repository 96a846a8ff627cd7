import test from 'ava';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../../helpers/redis.js';

// docs/internals.md, row "ioredis enableAutoPipelining at run time": loadPipelining in
// src/queue/pipelining.ts turns auto-pipelining on and off on live clients by assigning
// `redis.options.enableAutoPipelining`, relying on ioredis reading the option at every command (documented
// only as a constructor option), and reads `autoPipelineQueueSize` before switching it off.
const ROW = 'internals.md row "ioredis enableAutoPipelining at run time" (src/queue/pipelining.ts loadPipelining)';

test('assigning options.enableAutoPipelining on a connected client takes effect at the next command', async (t) => {
  const redis = new Redis(TEST_REDIS_URL, { enableAutoPipelining: false, lazyConnect: true });
  t.teardown(() => redis.disconnect());
  await redis.connect();
  t.is(typeof redis.autoPipelineQueueSize, 'number', `${ROW}: autoPipelineQueueSize is gone`);

  const off = [redis.echo('a'), redis.echo('b')];
  t.is(redis.autoPipelineQueueSize, 0, `${ROW}: commands were auto-pipelined while the option was off`);
  await Promise.all(off);

  redis.options.enableAutoPipelining = true;
  const on = [redis.echo('c'), redis.echo('d')];
  t.is(
    redis.autoPipelineQueueSize,
    2,
    `${ROW}: setting the option on a live client did not auto-pipeline the next commands`,
  );
  t.deepEqual(await Promise.all(on), ['c', 'd'], ROW);
  t.is(redis.autoPipelineQueueSize, 0, ROW);

  redis.options.enableAutoPipelining = false;
  const offAgain = redis.echo('e');
  t.is(redis.autoPipelineQueueSize, 0, `${ROW}: switching the option off on a live client did not take effect`);
  t.is(await offAgain, 'e');
});
