import type { Knex } from 'knex';
import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { Publisher } from '../pubsub/events.js';
import type { LoadPipelining } from '../queue/pipelining.js';
import type { Queues } from '../queue/producers.js';
import type { Stores } from '../store/index.js';

/**
 * What a role is started with: the process's connections and shared services. src/container.ts builds them
 * (its `Deps` has this shape) and src/bin/ hands one to the other, so the compiler checks that they agree. The
 * roles do not import the container: both sit on the same line of the folder order.
 */
export interface RoleDeps {
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
