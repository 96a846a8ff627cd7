import type { Job, Worker } from 'bullmq';
import { openWorker } from '../queue/factory.js';
import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { connectRedis } from '../core/redis.js';
import { once } from '../core/shutdown.js';
import type { KeyRing } from '../core/secret-box.js';
import type { Metrics } from '../ops/metrics.js';
import { JOB, QUEUE } from '../queue/names.js';
import type { OutboundJob } from '../queue/payloads.js';
import type { Queues } from '../queue/producers.js';
import { createSendProcessor, type SendResult } from './processor.js';
import { createRenderCache } from './render-cache.js';
import type { HtmlContext } from './render.js';
import { sweepOutbound, upsertOutboundSweep } from './sweeper.js';
import { createTransportPool } from './transport.js';

export interface OutboundWorkerDeps {
  config: Config;
  log: Logger;
  db: Knex;
  metrics: Metrics;
  queues: Queues;
  /** opens connected mailboxes' SMTP passwords (access/secret.ts resolves it); undefined: they cannot send */
  credentials: KeyRing | undefined;
  /** BOUNCE_HMAC_SECRET (issue 21): wired at merge; undefined = the mailbox address is the envelope sender */
  bounceSecret?: string;
  /** issue 22's tracking rewrite of the HTML part */
  transformHtml?: (html: string, ctx: HtmlContext) => string;
}

export interface OutboundWorker {
  worker: Worker<OutboundJob, SendResult | { readded: number; pruned: number }>;
  close: () => Promise<void>;
}

/**
 * The outbound Worker on its own Redis connection: OUTBOUND_CONCURRENCY sends at once, the sweeper on the same
 * queue. close() (SIGTERM) stops taking jobs and waits for the sends in flight (bounded by SHUTDOWN_BUDGET_MS in
 * core/shutdown.ts), then closes the SMTP pools.
 */
export async function startOutbound(deps: OutboundWorkerDeps): Promise<OutboundWorker> {
  const log = deps.log.child({ component: 'outbound' });
  const connection = await connectRedis(deps.config, 'worker');
  const pool = createTransportPool({
    db: deps.db,
    relay: deps.config.outbound.relay,
    credentials: deps.credentials,
    allowHosts: deps.config.connected.allowHosts,
    timeoutMs: deps.config.outbound.smtpTimeoutMs,
    maxConnections: deps.config.outbound.poolConnections,
  });
  const send = createSendProcessor({
    db: deps.db,
    config: deps.config,
    log,
    metrics: deps.metrics,
    pool,
    renders: createRenderCache(deps.db, { transformHtml: deps.transformHtml }),
    bounceSecret: deps.bounceSecret,
    webhooks: deps.queues.webhooks,
  });
  const processor = (job: Job<OutboundJob>, token?: string) =>
    job.name === JOB.outboundSweep
      ? sweepOutbound({ db: deps.db, queue: deps.queues.outbound, config: deps.config, log })
      : send(job, token);
  const worker = openWorker<OutboundJob, SendResult | { readded: number; pruned: number }>(
    connection,
    deps.config.redis,
    QUEUE.outbound,
    processor,
    {
      concurrency: deps.config.outbound.concurrency,
      // a killed worker's job goes back to waiting after OUTBOUND_LOCK_MS; the row's claim lapses after the same time
      lockDuration: deps.config.outbound.lockMs,
      stalledInterval: deps.config.outbound.lockMs,
      maxStalledCount: deps.config.worker.maxStalledCount,
      autorun: false,
    },
  );
  worker.on('failed', (job, err) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1);
    deps.metrics[final ? 'failed' : 'retried'].inc({ queue: QUEUE.outbound });
    log[final ? 'error' : 'warn']({
      event: final ? 'outbound.job_failed' : 'outbound.job_will_retry',
      jobId: job?.id,
      attempts: job?.attemptsMade,
      err,
    });
  });
  worker.on('error', (err) => log.warn({ event: 'outbound.worker_error', err }));
  worker.on('stalled', (jobId) => log.warn({ event: 'outbound.stalled', jobId }));
  await worker.waitUntilReady();
  await upsertOutboundSweep(deps.queues.outbound, deps.config.outbound.sweepEveryMs);
  worker.run().catch((err: unknown) => log.error({ event: 'outbound.run_failed', err }));
  log.info({
    event: 'outbound.started',
    concurrency: deps.config.outbound.concurrency,
    relay: deps.config.outbound.relay?.shown ?? null,
  });
  return {
    worker,
    close: once(async () => {
      await worker.close();
      pool.close();
      connection.disconnect();
    }),
  };
}
