import type { Job, Worker } from 'bullmq';
import type { RoleDeps } from './deps.js';
import { once } from '../core/shutdown.js';
import { startMaintenance, type MaintenanceWorker } from '../maintenance/worker.js';
import { planSizeProblems } from '../ops/plan-limits.js';
import { workerByteBudget, withinBudget } from '../pipeline/bytes-in-flight.js';
import { workerPipelineDeps } from '../pipeline/worker-deps.js';
import { createInboundProcessor, type Outcome } from '../pipeline/processor.js';
import { parseRetryQueue } from '../pipeline/parse-retry.js';
import { connectRedis } from '../core/redis.js';
import { openWorker } from '../queue/factory.js';
import { QUEUE } from '../queue/names.js';
import { closeConsumer, consumer, watchStalls, type Consumer } from '../queue/stall-watchdog.js';
import { inboundShardName } from '../queue/shards.js';
import { startBounceWorker, type BounceWorker } from '../bounces/worker.js';
import { smtpBounceHandler } from '../bounces/smtp-handler.js';
import { bounceProcessorDeps } from './bounce-deps.js';
import type { InboundJob } from '../queue/payloads.js';
import { startWatchPool, type WatchPool } from '../connected/watch-pool.js';
import type { KeyRing } from '../core/secret-box.js';
import { resolveBounceSecrets, resolveCredentialsRing, resolveTrackingSecret } from '../access/secret.js';
import { trackingTransform } from '../outbound/tracking-transform.js';
import type { Config } from '../core/config.js';
import { startOutbound, type OutboundWorker } from '../outbound/worker.js';
import { startWebhooks, type WebhookWorker } from '../webhooks/worker.js';

export interface WorkerRole {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES: the first inbound shard this worker consumes */
  readonly inbound: Worker<InboundJob, Outcome[]>;
  /**
   * one Worker per inbound shard consumed (WORKER_INBOUND_SHARDS), WORKER_CONCURRENCY at a time between them; the
   * current ones (a Worker restarted by the stall watchdog, WORKER_STALL_RESTART_MS, is replaced)
   */
  readonly inboundShards: Array<Worker<InboundJob, Outcome[]>>;
  /** larger messages, WORKER_LARGE_CONCURRENCY at a time */
  readonly inboundLarge: Worker<InboundJob, Outcome[]>;
  maintenance?: MaintenanceWorker;
  /** IDLE watchers of connected mailboxes (none without a credentials key) */
  watchers?: WatchPool;
  /** outbound sends (OUTBOUND_CONCURRENCY) and the outbound sweeper (undefined: inboundOnly) */
  outbound?: OutboundWorker;
  /** undefined: inboundOnly */
  bounces?: BounceWorker;
  /** webhook deliveries (undefined: no credentials key, so no webhook can exist) */
  webhooks?: WebhookWorker;
  close: () => Promise<void>;
}

const isFinal = (job: Job | undefined) => !job || job.attemptsMade >= (job.opts.attempts ?? 1);

export async function startWorker(
  deps: RoleDeps,
  opts: {
    /** opens connected mailboxes' passwords for their IDLE watchers; default: CREDENTIALS_KEY's ring */
    credentials?: KeyRing;
    /** only the inbound queues (a second delivery thread of `npm start`): no maintenance, outbound, bounce or
     * webhook workers, no IDLE watchers, no start-up plan check */
    inboundOnly?: boolean;
    /** which delivery thread of `npm start` this is (its log lines say so); undefined: the only one */
    thread?: number;
  } = {},
): Promise<WorkerRole> {
  const connection = await connectRedis(deps.config, 'worker');
  const log = deps.log.child({ component: 'worker' });
  deps.pipelining.follow(connection);
  const batched = workerPipelineDeps(deps);
  // VERP bounces (issue 21): DSNs through our SMTP go to the bounce processor; bounce inboxes are polled
  const bounceDeps = bounceProcessorDeps(deps);

  // a parse that timed out under load is retried in inbound-large, at its low concurrency (pipeline/parse-retry.ts)
  const deliver = createInboundProcessor({
    ...batched.deps,
    parseRetry: parseRetryQueue(deps.queues.inboundLarge, deps.config),
    bounces: smtpBounceHandler(bounceDeps),
  });
  // WORKER_MAX_BYTES_IN_FLIGHT: a job waits for room before it is decoded, parsed and stored; while the waiting jobs
  // hold a budget's worth, the workers fetch nothing more (concurrency 1 holds while a job is active)
  const throttled: Array<[Consumer<InboundJob, Outcome[]>, number]> = [];
  let throttling = false;
  const budget = workerByteBudget(deps.config.worker.maxBytesInFlight, deps.metrics, (waiting) => {
    throttling = waiting;
    for (const [c, concurrency] of throttled) c.worker.concurrency = waiting ? 1 : concurrency;
  });
  const processor = withinBudget(budget, (job: Job<InboundJob>) => deps.pipelining.busy(deliver(job)));
  // One pipeline, two queues: the same processor and delivery batcher; only how many jobs run at once differs.
  // Worst-case raw bytes in flight: WORKER_CONCURRENCY x WORKER_LARGE_MESSAGE_BYTES + WORKER_LARGE_CONCURRENCY x MAX_MESSAGE_BYTES.
  const run = (worker: Worker<InboundJob, Outcome[]>) => {
    // run() resolves when the worker closes; it rejects only on a bug in BullMQ's loop
    worker.run().catch((err: unknown) => log.error({ event: 'worker.run_failed', queue: worker.name, err }));
  };
  const open = (queue: string, concurrency: number) => (counted: typeof processor) => {
    const worker = openWorker<InboundJob, Outcome[]>(connection, deps.config.redis, queue, counted, {
      concurrency: throttling ? 1 : concurrency,
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
    worker.on('error', (err) => log.warn({ event: 'worker.error', queue, err }));
    // a job whose worker died (lock expired) goes back to waiting; past WORKER_MAX_STALLED_COUNT BullMQ fails it
    worker.on('stalled', (jobId) => log.warn({ event: 'inbound.stalled', queue, jobId }));
    return worker;
  };
  const consume = (queue: string, concurrency: number) => {
    const c = consumer(queue, processor, open(queue, concurrency), run);
    throttled.push([c, concurrency]);
    return c;
  };
  // INBOUND_SHARDS: one Worker per shard consumed; WORKER_CONCURRENCY is shared between them (rounded up per shard)
  // so that the raw bytes in flight stay bounded however many shards there are
  const { inboundShards: shards, workerShards } = deps.config.redis;
  const perShard = Math.ceil(deps.config.worker.concurrency / workerShards.length);
  const shardConsumers = workerShards.map((s) => consume(inboundShardName(s, shards), perShard));
  const largeConsumer = consume(QUEUE.inboundLarge, deps.config.worker.largeConcurrency);
  const consumers = [...shardConsumers, largeConsumer];
  await Promise.all(consumers.map((c) => c.worker.waitUntilReady()));
  const full = !opts.inboundOnly;
  const maintenance = full && deps.config.lifecycle.maintenanceWorker ? await startMaintenance(deps) : undefined;
  const outbound = full
    ? await startOutbound({
        ...deps,
        credentials: opts.credentials ?? resolveCredentialsRing(deps.config),
        bounceSecret: resolveBounceSecrets(deps.config)[0],
        transformHtml: trackingHtml(deps.config),
      })
    : undefined;
  const bounces = full ? await startBounceWorker({ ...bounceDeps, queues: deps.queues }) : undefined;
  const webhooks = full ? await startWebhooks(deps) : undefined;
  // A warning only, so best effort: with Postgres unreachable at start it used to end the process after the
  // workers had taken jobs, and a worker restarted in a loop during an outage failed them for good (stalled
  // past WORKER_MAX_STALLED_COUNT). Deliveries meanwhile fail and are retried with backoff, as in any outage.
  if (full)
    await deps.stores.plans.all().then(
      (plans) => {
        for (const problem of planSizeProblems(deps.config.mail.maxMessageBytes, plans))
          log.warn({ event: 'worker.plan_size_unreachable', problem });
      },
      (err: unknown) => log.warn({ event: 'worker.plan_check_skipped', err }),
    );
  for (const c of consumers) run(c.worker);
  // a consumer that stops taking the jobs of its queue is opened again (src/queue/stall-watchdog.ts)
  const queueOf = new Map([...deps.queues.inboundShards, deps.queues.inboundLarge].map((q) => [q.name, q]));
  const watchdog = watchStalls(consumers, {
    stallMs: deps.config.worker.stallRestartMs,
    takeable: async (name) => {
      const counts = await queueOf.get(name)!.getJobCounts('wait', 'prioritized');
      return (counts.wait ?? 0) + (counts.prioritized ?? 0);
    },
    onRestart: (c, details) => {
      deps.metrics.workerRestarts.inc({ queue: c.queue });
      log.warn({ event: 'worker.stall_restart', queue: c.queue, ...details });
    },
  });
  // connected mailboxes: one IDLE watcher per mailbox across all workers (src/connected/watch-pool.ts)
  const credentials = opts.credentials ?? deps.config.connected.keyRing;
  const watchers = full && credentials ? startWatchPool({ ...deps, credentials }) : undefined;
  log.info({
    event: 'worker.started',
    ...(opts.thread !== undefined ? { thread: opts.thread, inboundOnly: !full } : {}),
    concurrency: deps.config.worker.concurrency,
    largeConcurrency: deps.config.worker.largeConcurrency,
    largeMessageBytes: deps.config.worker.largeMessageBytes,
    ...(shards > 1 ? { inboundShards: workerShards.join(','), of: shards, concurrencyPerShard: perShard } : {}),
    maxBytesInFlight: deps.config.worker.maxBytesInFlight,
  });
  return {
    get inbound() {
      return shardConsumers[0]!.worker;
    },
    get inboundShards() {
      return shardConsumers.map((c) => c.worker);
    },
    get inboundLarge() {
      return largeConsumer.worker;
    },
    maintenance,
    watchers,
    outbound,
    bounces,
    webhooks,
    close: once(async () => {
      await watchers?.close();
      await maintenance?.close();
      await outbound?.close();
      watchdog.stop();
      await Promise.all(
        consumers.map(async (c) => {
          if (!(await closeConsumer(c, deps.config.worker.closeIdleMs)))
            log.warn({ event: 'worker.close_abandoned', queue: c.queue, idleMs: deps.config.worker.closeIdleMs });
        }),
      );
      await bounces?.close();
      await webhooks?.close();
      await batched.batcher.drain();
      connection.disconnect();
    }),
  };
}

/** The outbound renderer's tracking hook: none without a tracking secret (production without TRACKING_HMAC_SECRET). */
function trackingHtml(config: Config) {
  const secret = resolveTrackingSecret(config);
  const base =
    config.http.publicUrl ??
    `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
  return secret ? trackingTransform(secret, base) : undefined;
}
