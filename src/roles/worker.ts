import { Worker, type Job } from 'bullmq';
import type { RoleDeps } from './deps.js';
import { once } from '../core/shutdown.js';
import { startMaintenance, type MaintenanceWorker } from '../maintenance/worker.js';
import { planSizeProblems } from '../ops/plan-limits.js';
import { workerByteBudget, withinBudget } from '../pipeline/bytes-in-flight.js';
import { workerPipelineDeps } from '../pipeline/worker-deps.js';
import { createInboundProcessor, type Outcome } from '../pipeline/processor.js';
import { connectRedis } from '../core/redis.js';
import { QUEUE } from '../queue/names.js';
import type { InboundJob } from '../queue/payloads.js';

export interface WorkerRole {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES, WORKER_CONCURRENCY at a time */
  inbound: Worker<InboundJob, Outcome[]>;
  /** larger messages, WORKER_LARGE_CONCURRENCY at a time */
  inboundLarge: Worker<InboundJob, Outcome[]>;
  maintenance?: MaintenanceWorker;
  close: () => Promise<void>;
}

const isFinal = (job: Job | undefined) => !job || job.attemptsMade >= (job.opts.attempts ?? 1);

export async function startWorker(deps: RoleDeps): Promise<WorkerRole> {
  const connection = await connectRedis(deps.config, 'worker');
  const log = deps.log.child({ component: 'worker' });
  deps.pipelining.follow(connection);
  const batched = workerPipelineDeps(deps);
  const deliver = createInboundProcessor(batched.deps);
  // WORKER_MAX_BYTES_IN_FLIGHT: a job waits for room before it is decoded, parsed and stored; while the waiting jobs
  // hold a budget's worth, the workers fetch nothing more (concurrency 1 holds while a job is active)
  const throttled: Array<[Worker<InboundJob, Outcome[]>, number]> = [];
  const budget = workerByteBudget(deps.config.worker.maxBytesInFlight, deps.metrics, (waiting) => {
    for (const [worker, concurrency] of throttled) worker.concurrency = waiting ? 1 : concurrency;
  });
  const processor = withinBudget(budget, (job: Job<InboundJob>) => deps.pipelining.busy(deliver(job)));
  // One pipeline, two queues: the same processor and delivery batcher; only how many jobs run at once differs.
  // Worst-case raw bytes in flight: WORKER_CONCURRENCY x WORKER_LARGE_MESSAGE_BYTES + WORKER_LARGE_CONCURRENCY x MAX_MESSAGE_BYTES.
  const consume = (queue: string, concurrency: number) => {
    const worker = new Worker<InboundJob, Outcome[]>(queue, processor, {
      connection,
      prefix: deps.config.redis.prefix,
      concurrency,
      // a SIGKILLed worker's jobs go back to waiting after this long (re-run idempotently)
      lockDuration: deps.config.worker.lockMs,
      stalledInterval: deps.config.worker.lockMs,
      // BullMQ's default (1) fails a job whose worker died twice: acknowledged mail would be lost
      maxStalledCount: deps.config.worker.maxStalledCount,
      // consumption starts at the end of startWorker: a start-up step that fails must not leave taken jobs behind
      autorun: false,
    });
    worker.on('failed', (job, err) => {
      const final = isFinal(job) || err.name === 'UnrecoverableError';
      deps.metrics[final ? 'failed' : 'retried'].inc({ queue });
      log[final ? 'error' : 'warn']({
        event: final ? 'inbound.failed' : 'inbound.will_retry',
        queue,
        jobId: job?.id,
        attempts: job?.attemptsMade,
        err,
      });
    });
    throttled.push([worker, concurrency]);
    worker.on('error', (err) => log.warn({ event: 'worker.error', queue, err }));
    // a job whose worker died (lock expired) goes back to waiting; past WORKER_MAX_STALLED_COUNT BullMQ fails it
    worker.on('stalled', (jobId) => log.warn({ event: 'inbound.stalled', queue, jobId }));
    return worker;
  };
  const inbound = consume(QUEUE.inbound, deps.config.worker.concurrency);
  const inboundLarge = consume(QUEUE.inboundLarge, deps.config.worker.largeConcurrency);
  await Promise.all([inbound.waitUntilReady(), inboundLarge.waitUntilReady()]);
  const maintenance = deps.config.lifecycle.maintenanceWorker ? await startMaintenance(deps) : undefined;
  // A warning only, so best effort: with Postgres unreachable at start it used to end the process after the
  // workers had taken jobs, and a worker restarted in a loop during an outage failed them for good (stalled
  // past WORKER_MAX_STALLED_COUNT). Deliveries meanwhile fail and are retried with backoff, as in any outage.
  await deps.stores.plans.all().then(
    (plans) => {
      for (const problem of planSizeProblems(deps.config.mail.maxMessageBytes, plans))
        log.warn({ event: 'worker.plan_size_unreachable', problem });
    },
    (err: unknown) => log.warn({ event: 'worker.plan_check_skipped', err }),
  );
  for (const [queue, worker] of [
    [QUEUE.inbound, inbound],
    [QUEUE.inboundLarge, inboundLarge],
  ] as const) {
    // run() resolves when the worker closes; it rejects only on a bug in BullMQ's loop
    worker.run().catch((err: unknown) => log.error({ event: 'worker.run_failed', queue, err }));
  }
  log.info({
    event: 'worker.started',
    concurrency: deps.config.worker.concurrency,
    largeConcurrency: deps.config.worker.largeConcurrency,
    largeMessageBytes: deps.config.worker.largeMessageBytes,
    maxBytesInFlight: deps.config.worker.maxBytesInFlight,
  });
  return {
    inbound,
    inboundLarge,
    maintenance,
    close: once(async () => {
      await maintenance?.close();
      await Promise.all([inbound.close(), inboundLarge.close()]);
      await batched.batcher.drain();
      connection.disconnect();
    }),
  };
}
