import test from 'ava';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { closeConsumer, consumer, watchStalls } from '../../src/queue/stall-watchdog.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { until } from './faults/mode.js';

// The stall watchdog of the worker role (WORKER_STALL_RESTART_MS) on a real Redis. A stuck fetch loop (a BullMQ
// worker waiting on a command that never settles, as after a cluster master was killed) is stood in for by a real
// Worker that was never started: it takes nothing, its queue has jobs waiting, it is not paused.
test('a consumer whose worker takes none of its waiting jobs is closed and opened again, then takes them', async (t) => {
  const prefix = uniquePrefix();
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('stall', { connection, prefix });
  const done: string[] = [];
  const opened: Array<Worker<{ n: number }, number>> = [];
  const c = consumer<{ n: number }, number>(
    'stall',
    async (job: Job<{ n: number }>) => {
      done.push(job.id!);
      return job.data.n;
    },
    (processor) => {
      const w = new Worker<{ n: number }, number>('stall', processor, { connection, prefix, autorun: false });
      opened.push(w);
      return w;
    },
    // the first worker is never started (stuck); the one the watchdog opens is
    (w) => {
      if (opened.length > 1) void w.run();
    },
  );
  const restarts: Array<{ idleMs: number; waiting: number }> = [];
  const watchdog = watchStalls([c], {
    stallMs: 300,
    takeable: async () => (await queue.getJobCounts('wait', 'prioritized')).wait ?? 0,
    onRestart: (_c, details) => restarts.push(details),
  });
  try {
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n } })));
    await until(async () => done.length === 3, 10_000, 'the waiting jobs taken by the new worker');
    t.is(restarts.length, 1);
    t.is(restarts[0]!.waiting, 3);
    t.true(restarts[0]!.idleMs >= 300);
    t.is(opened.length, 2);
    t.is(c.worker, opened[1]!);
    t.truthy(opened[0]!.closing, 'the stuck worker was closed');
    t.is(c.inFlight, 0);
    // no more jobs waiting: no further restart however long it stays idle
    await new Promise((r) => setTimeout(r, 1_000));
    t.is(restarts.length, 1);
    t.true(await closeConsumer(c, 2_000), 'a healthy worker closes by itself');
  } finally {
    watchdog.stop();
    await Promise.all(opened.map((w) => w.close(true)));
    await queue.close();
    connection.disconnect();
    await dropPrefix(prefix);
  }
});
