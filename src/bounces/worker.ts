import type { Job, Worker } from 'bullmq';
import { openWorker } from '../queue/factory.js';
import { connectRedis } from '../core/redis.js';
import { once } from '../core/shutdown.js';
import { BOUNCE_JOB, BOUNCE_SCHEDULER_ID, bouncePollJobId, type PollMailboxJob } from '../queue/bounce-jobs.js';
import { QUEUE } from '../queue/names.js';
import type { Queues } from '../queue/producers.js';
import { bounceInboxIds } from '../store/bounce-inboxes.js';
import { pollMailbox, type PollDeps, type PollResult } from './poll.js';

export interface BounceWorker {
  worker: Worker;
  close: () => Promise<void>;
}

/**
 * The `bounces` queue's Worker (BOUNCE_POLL_CONCURRENCY polls at once, on its own Redis connection: a slow IMAP
 * server never delays deliveries or sends) and the `bounce-poll` job scheduler: every BOUNCE_POLL_EVERY_MS one
 * job adds a poll job per mailbox with a bounce inbox, its id from the mailbox (never two waiting).
 */
export async function startBounceWorker(deps: PollDeps & { queues: Pick<Queues, 'bounces'> }): Promise<BounceWorker> {
  const log = deps.log.child({ component: 'bounces' });
  const connection = await connectRedis(deps.config, 'worker');
  const processor = async (job: Job): Promise<PollResult | { queued: number }> => {
    if (job.name === BOUNCE_JOB.pollAll) {
      const inboxes = await bounceInboxIds(deps.db);
      await deps.queues.bounces.addBulk(
        inboxes.map(({ id }) => ({
          name: BOUNCE_JOB.pollMailbox,
          data: { v: 1, mailboxId: id } satisfies PollMailboxJob,
          opts: { jobId: bouncePollJobId(id) },
        })),
      );
      return { queued: inboxes.length };
    }
    return pollMailbox({ ...deps, log }, (job.data as PollMailboxJob).mailboxId);
  };
  const worker = openWorker(connection, deps.config.redis, QUEUE.bounces, processor, {
    concurrency: deps.config.bounces.pollConcurrency,
  });
  worker.on('failed', (job, err) => log.warn({ event: 'bounce.job_failed', job: job?.name, jobId: job?.id, err }));
  worker.on('error', (err) => log.warn({ event: 'bounce.worker_error', err }));
  await worker.waitUntilReady();
  await deps.queues.bounces.upsertJobScheduler(
    BOUNCE_SCHEDULER_ID,
    { every: deps.config.bounces.pollEveryMs },
    { name: BOUNCE_JOB.pollAll, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 50 } } },
  );
  log.info({ event: 'bounces.started', pollEveryMs: deps.config.bounces.pollEveryMs });
  return {
    worker,
    close: once(async () => {
      await worker.close();
      connection.disconnect();
    }),
  };
}
