import type { Knex } from 'knex';
import type { RedisClient } from './core/redis.js';
import type { Config } from './core/config.js';
import { createLogger, type Logger } from './core/log.js';
import { once } from './core/shutdown.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { registerQueueMetrics } from './ops/queue-metrics.js';
import { channelNamespace, redisPublisher, type Publisher } from './pubsub/events.js';
import { connectRedis } from './core/redis.js';
import { loadPipelining, type LoadPipelining } from './queue/pipelining.js';
import { createQueues, type Queues } from './queue/producers.js';
import { createDb } from './store/db.js';
import { createStores, type Stores } from './store/index.js';
import { planStore } from './store/plans.js';

/** knex prints pool and connection trouble to the console by default; route it to our log instead. */
const knexLogger = (log: Logger) => ({
  warn: (message: unknown) => log.warn({ event: 'db.warning', message: String(message) }),
  error: (message: unknown) => log.error({ event: 'db.error', message: String(message) }),
  deprecate: (message: unknown) => log.debug({ event: 'db.deprecation', message: String(message) }),
  debug: () => undefined,
});

/** What the roles are started with (src/roles/deps.ts declares the same shape for them: keep the two alike). */
export interface Deps {
  config: Config;
  log: Logger;
  db: Knex;
  /** fail-fast connection for producers and commands (no offline queue) */
  redis: RedisClient;
  queues: Queues;
  stores: Stores;
  publisher: Publisher;
  metrics: Metrics;
  /** adaptive auto-pipelining: the roles count their work in flight here (src/queue/pipelining.ts) */
  pipelining: LoadPipelining;
}

export type Container = Deps & { close: () => Promise<void> };

/** The composition root: everything that holds a socket is made here and closed by close(). */
export async function createContainer(config: Config, role: string, over: Partial<Deps> = {}): Promise<Container> {
  const log = over.log ?? createLogger(config, role);
  const db = over.db ?? createDb(config, { log: knexLogger(log) });
  const redis = over.redis ?? (await connectRedis(config, 'producer'));
  const pipelining = over.pipelining ?? loadPipelining(config);
  pipelining.follow(redis);
  const queues = over.queues ?? createQueues(redis, config);
  const plans = planStore(db, config.plans.cacheMs);
  const deps: Deps = {
    config,
    log,
    db,
    redis,
    queues,
    stores: over.stores ?? createStores(db, { plans }),
    publisher: over.publisher ?? redisPublisher(redis, channelNamespace(config.redis)),
    metrics: over.metrics ?? createMetrics(role),
    pipelining,
  };
  // without a listener BullMQ prints connection errors to stderr as plain text (not JSON)
  for (const q of queues.all())
    q.on('error', (err) => log.warn({ event: 'queue.error', queue: q.name, err: err.message }));
  if (!over.metrics)
    registerQueueMetrics(deps.metrics.registry, () => deps.queues.all(), config.ops.queueMetricsTimeoutMs);
  return {
    ...deps,
    close: once(async () => {
      await queues.close().catch(() => undefined);
      redis.disconnect();
      await db.destroy();
    }),
  };
}
