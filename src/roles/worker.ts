import { Worker, type Job } from 'bullmq';
import type { Deps } from '../container.js';
import { once } from '../core/shutdown.js';
import { startMaintenance, type MaintenanceWorker } from '../maintenance/worker.js';
import { planSizeProblems } from '../ops/plan-limits.js';
import { workerPipelineDeps } from '../pipeline/worker-deps.js';
import { createInboundProcessor, type Outcome } from '../pipeline/processor.js';
import { connectRedis } from '../queue/connection.js';
import { QUEUE } from '../queue/names.js';
import type { InboundJob } from '../queue/payloads.js';

export interface WorkerRole { inbound: Worker<InboundJob, Outcome[]>; maintenance?: MaintenanceWorker; close: () => Promise<void> }

const isFinal = (job: Job | undefined) => !job || job.attemptsMade >= (job.opts.attempts ?? 1);

export async function startWorker(deps: Deps): Promise<WorkerRole> {
  const connection = await connectRedis(deps.config, 'worker');
  const log = deps.log.child({ component: 'worker' });
  const batched = workerPipelineDeps(deps);
  const inbound = new Worker<InboundJob, Outcome[]>(QUEUE.inbound, createInboundProcessor(batched.deps), {
    connection,
    prefix: deps.config.redis.prefix,
    concurrency: deps.config.worker.concurrency,
    // a SIGKILLed worker's jobs go back to waiting after this long (re-run idempotently)
    lockDuration: deps.config.worker.lockMs,
    stalledInterval: deps.config.worker.lockMs,
    // BullMQ's default (1) fails a job whose worker died twice: acknowledged mail would be lost
    maxStalledCount: deps.config.worker.maxStalledCount,
  });
  inbound.on('failed', (job, err) => {
    const final = isFinal(job) || err.name === 'UnrecoverableError';
    deps.metrics[final ? 'failed' : 'retried'].inc({ queue: QUEUE.inbound });
    log[final ? 'error' : 'warn']({ event: final ? 'inbound.failed' : 'inbound.will_retry', jobId: job?.id, attempts: job?.attemptsMade, err });
  });
  inbound.on('error', (err) => log.warn({ event: 'worker.error', err }));
  await inbound.waitUntilReady();
  const maintenance = deps.config.lifecycle.maintenanceWorker ? await startMaintenance(deps) : undefined;
  for (const problem of planSizeProblems(deps.config.mail.maxMessageBytes, await deps.stores.plans.all())) {
    log.warn({ event: 'worker.plan_size_unreachable', problem });
  }
  log.info({ event: 'worker.started', concurrency: deps.config.worker.concurrency });
  return {
    inbound,
    maintenance,
    close: once(async () => {
      await maintenance?.close();
      await inbound.close();
      await batched.batcher.drain();
      connection.disconnect();
    }),
  };
}
