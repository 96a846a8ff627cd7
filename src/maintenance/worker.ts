import type { Worker } from 'bullmq';
import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { once } from '../core/shutdown.js';
import { connectRedis } from '../core/redis.js';
import type { Metrics } from '../ops/metrics.js';
import type { Publisher } from '../pubsub/events.js';
import type { Queues } from '../queue/producers.js';
import { openWorker } from '../queue/factory.js';
import { QUEUE } from '../queue/names.js';
import { lifecycleStore } from '../store/lifecycle.js';
import { createMaintenanceProcessor } from './processor.js';
import { upsertMaintenanceSchedules } from './schedules.js';

export interface MaintenanceWorker {
  worker: Worker;
  close: () => Promise<void>;
}

/** What the maintenance worker uses of the container's dependencies (src/container.ts). */
export interface MaintenanceWorkerDeps {
  config: Config;
  log: Logger;
  db: Knex;
  publisher: Publisher;
  metrics: Metrics;
  queues: Queues;
}

/**
 * The maintenance Worker (expiry jobs, sweep, purge) on its own Redis connection, so a long purge or
 * a busy inbound queue never delays an expiry job (MAINTENANCE_CONCURRENCY jobs run at once).
 */
export async function startMaintenance(deps: MaintenanceWorkerDeps): Promise<MaintenanceWorker> {
  const log = deps.log.child({ component: 'maintenance' });
  const connection = await connectRedis(deps.config, 'worker');
  const processor = createMaintenanceProcessor({
    config: deps.config,
    log,
    lifecycle: lifecycleStore(deps.db),
    publisher: deps.publisher,
    queues: deps.queues,
  });
  const worker = openWorker(connection, deps.config.redis, QUEUE.maintenance, processor, {
    concurrency: deps.config.lifecycle.maintenanceConcurrency,
  });
  worker.on('failed', (job, err) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    deps.metrics[final ? 'failed' : 'retried'].inc({ queue: QUEUE.maintenance });
    log[final ? 'error' : 'warn']({
      event: final ? 'maintenance.failed' : 'maintenance.will_retry',
      job: job?.name,
      jobId: job?.id,
      err,
    });
  });
  worker.on('error', (err) => log.warn({ event: 'maintenance.worker_error', err }));
  await worker.waitUntilReady();
  await upsertMaintenanceSchedules(deps.queues.maintenance, deps.config);
  log.info({
    event: 'maintenance.started',
    sweepEveryMs: deps.config.lifecycle.sweepIntervalMs,
    purgeEveryMs: deps.config.lifecycle.purgeIntervalMs,
  });
  return {
    worker,
    close: once(async () => {
      await worker.close();
      connection.disconnect();
    }),
  };
}
