import type { Worker } from 'bullmq';
import { openWorker } from '../queue/factory.js';
import type { Knex } from 'knex';
import { resolveCredentialsRing } from '../access/secret.js';
import type { Config } from '../core/config.js';
import type { Resolver } from '../core/host-guard.js';
import type { Logger } from '../core/log.js';
import { connectRedis } from '../core/redis.js';
import type { KeyRing } from '../core/secret-box.js';
import { once } from '../core/shutdown.js';
import { webhookGuard } from '../core/webhook-url.js';
import type { Metrics } from '../ops/metrics.js';
import { QUEUE } from '../queue/names.js';
import type { Queues } from '../queue/producers.js';
import { WEBHOOK_JOB, WEBHOOK_SCHEDULER_ID, type WebhookJob } from '../queue/webhook-jobs.js';
import { webhookMetrics } from './metrics.js';
import { createWebhookProcessor, staleMs } from './processor.js';

export interface WebhookWorker {
  worker: Worker<WebhookJob, string>;
  close: () => Promise<void>;
}

export interface WebhookWorkerDeps {
  config: Config;
  log: Logger;
  db: Knex;
  metrics: Metrics;
  queues: Pick<Queues, 'webhooks'>;
}

/**
 * The webhooks Worker on its own Redis connection (WEBHOOK_CONCURRENCY attempts at once; a hanging receiver holds
 * at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT of them) and its scheduler (every WEBHOOK_SWEEP_INTERVAL_MS).
 * Without a credentials key (production without CREDENTIALS_KEY) no webhook can exist, and none is started.
 */
export async function startWebhooks(
  deps: WebhookWorkerDeps,
  opts: { keyRing?: KeyRing; resolver?: Resolver } = {},
): Promise<WebhookWorker | undefined> {
  const log = deps.log.child({ component: 'webhooks' });
  const keyRing = opts.keyRing ?? resolveCredentialsRing(deps.config);
  if (!keyRing) {
    log.warn({ event: 'webhook.worker_off', hint: 'CREDENTIALS_KEY is not set: webhooks are disabled' });
    return undefined;
  }
  const connection = await connectRedis(deps.config, 'worker');
  const queue = deps.queues.webhooks;
  const processor = createWebhookProcessor({
    config: deps.config,
    db: deps.db,
    log,
    queue,
    keyRing,
    guard: webhookGuard(deps.config.webhooks.allowHosts, opts.resolver),
    metrics: webhookMetrics(deps.metrics.registry),
  });
  const worker = openWorker<WebhookJob, string>(connection, deps.config.redis, QUEUE.webhooks, processor, {
    concurrency: deps.config.webhooks.concurrency,
    // an attempt lasts at most WEBHOOK_TIMEOUT_MS; a lock that outlives it by the overdue margin is a dead worker
    lockDuration: staleMs(deps.config),
  });
  worker.on('failed', (job, err) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    deps.metrics[final ? 'failed' : 'retried'].inc({ queue: QUEUE.webhooks });
    log[final ? 'error' : 'warn']({
      event: final ? 'webhook.job_failed' : 'webhook.job_will_retry',
      job: job?.name,
      jobId: job?.id,
      err,
    });
  });
  worker.on('error', (err) => log.warn({ event: 'webhook.worker_error', err }));
  await worker.waitUntilReady();
  await queue.upsertJobScheduler(
    WEBHOOK_SCHEDULER_ID,
    { every: deps.config.webhooks.sweepIntervalMs },
    {
      name: WEBHOOK_JOB.sweep,
      data: { v: 1, deliveryId: '' },
      opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
    },
  );
  log.info({
    event: 'webhook.worker_started',
    concurrency: deps.config.webhooks.concurrency,
    maxInFlightPerEndpoint: deps.config.webhooks.maxInFlightPerEndpoint,
  });
  return {
    worker,
    close: once(async () => {
      await worker.close();
      connection.disconnect();
    }),
  };
}
