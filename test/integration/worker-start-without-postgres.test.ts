import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE } from '../../src/queue/names.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { envFor, spawnRole } from '../helpers/spawn-role.js';
import { startSystem } from '../helpers/system.js';

/**
 * Found by a fault audit (2026-12-02): a worker started while Postgres refused connections took jobs, then
 * ended the process (its start-up plan check threw). Restarted in a loop by a platform during an outage, it
 * added a stall to every job it held each time, and BullMQ failed them for good after WORKER_MAX_STALLED_COUNT:
 * acknowledged mail lost. Now the start-up check is best effort and consumption begins only after it.
 */
test('a worker started while Postgres is unreachable keeps running and retries; the mail is stored once a worker reaches Postgres', async (t) => {
  const sys = await startSystem({ roles: ['web', 'smtp'] }); // no worker: the message waits in Redis
  t.teardown(() => sys.stop());
  const box = await sys.createMailbox('?ttl_minutes=60');
  await sys.send({ from: 'a@example.org', to: box.address, subject: 'sent during the outage', text: 'kept' });

  // "Postgres" is a listener that drops every connection
  const dropped: Socket[] = [];
  const fakePg = createServer((s) => {
    dropped.push(s);
    s.destroy();
  });
  fakePg.listen(0, '127.0.0.1');
  await once(fakePg, 'listening');
  t.teardown(() => {
    fakePg.close();
  });
  const pgPort = (fakePg.address() as AddressInfo).port;

  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE.inbound, { connection, prefix: sys.config.redis.prefix });
  t.teardown(async () => {
    await queue.close();
    connection.disconnect();
  });

  // three starts in a row, as a restart policy would do: each one must stay up and leave the job retryable
  for (let start = 1; start <= 3; start++) {
    const role = spawnRole(
      'worker',
      envFor(sys.config, {
        DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/none`,
        DELIVERY_BACKOFF_MS: '60000',
      }),
    );
    try {
      await role.waitFor('worker.started', 20_000);
      t.truthy(
        role.lines.find((l) => l.event === 'worker.plan_check_skipped'),
        `start ${start}: the plan check was skipped with a warning`,
      );
      if (start === 1) await role.waitFor('inbound.will_retry', 20_000);
      await new Promise((r) => setTimeout(r, 300));
      t.is(role.child.exitCode, null, `start ${start}: the worker is still running`);
      role.signal('SIGTERM');
      const exit = await role.exited;
      t.is(exit.code, 0, `start ${start}: clean exit on SIGTERM`);
    } finally {
      await role.stop();
    }
    const counts = await queue.getJobCounts('active', 'failed', 'delayed', 'wait');
    t.is(counts.active, 0, `start ${start}: no job left active`);
    t.is(counts.failed, 0, `start ${start}: no job failed`);
    t.is((counts.delayed ?? 0) + (counts.wait ?? 0), 1, `start ${start}: the job waits for its retry`);
  }
  t.true(dropped.length > 0, 'the workers did try to reach "Postgres"');

  // Postgres is back: promote the delayed retry and start a worker that reaches the database
  for (const job of await queue.getDelayed()) await job.promote();
  const worker = await startSystem({ roles: ['worker'], database: sys.database, prefix: sys.config.redis.prefix });
  t.teardown(() => worker.stop());
  const [stored] = await sys.waitForMessages(box.address, box.token, 1, 20_000);
  t.is(stored.subject, 'sent during the outage');
});
