import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';

/**
 * Adaptive auto-pipelining (REDIS_AUTO_PIPELINING=adaptive, the default). ioredis auto-pipelining sends
 * the commands of one event-loop turn in one socket write, which pays off under load (less worker and Redis
 * CPU per message at saturation). When a role is nearly idle every command is alone in its turn, and each
 * still builds an ioredis Pipeline object that copies every BullMQ script method (V8 promoted them to the
 * old generation): at a low rate the worker spent more CPU per message with it on, and its old generation
 * grew until a full GC, whose pauses showed in the latency tail. Figures: docs/benchmarks/README.md.
 *
 * So the role counts its units of work in flight (jobs being processed, messages being enqueued, HTTP
 * requests) and the clients it follows have auto-pipelining on from REDIS_AUTO_PIPELINING_BUSY units in
 * flight, off again at one or none. ioredis reads the option at every command. It is switched off only on
 * a client with no command waiting in an auto-pipeline, so a command sent directly can never overtake one
 * queued before it: order on each connection is kept.
 */
export interface LoadPipelining {
  /** A client whose auto-pipelining follows the load (only in adaptive mode; otherwise left as configured). */
  follow(redis: RedisClient): void;
  /** Count `work` as in flight until it settles. */
  busy<T>(work: Promise<T>): Promise<T>;
  /** units in flight now */
  inFlight(): number;
}

export function loadPipelining(config: Pick<Config, 'redis'>): LoadPipelining {
  const adaptive = config.redis.autoPipelining === 'adaptive';
  const busyAt = config.redis.autoPipeliningBusy;
  const clients: RedisClient[] = [];
  let inFlight = 0;
  let on = false;

  const switchOn = () => {
    on = true;
    for (const c of clients) c.options.enableAutoPipelining = true;
  };
  const trySwitchOff = () => {
    // a command already waiting in an auto-pipeline must leave before any command sent directly
    if (clients.some((c) => c.autoPipelineQueueSize > 0)) return;
    on = false;
    for (const c of clients) c.options.enableAutoPipelining = false;
  };
  const settled = () => {
    inFlight--;
    if (on && inFlight <= 1) trySwitchOff();
  };

  return {
    follow(redis) {
      if (!adaptive) return;
      redis.options.enableAutoPipelining = on;
      clients.push(redis);
    },
    busy(work) {
      if (!adaptive) return work;
      inFlight++;
      if (!on && inFlight >= busyAt) switchOn();
      return work.finally(settled);
    },
    inFlight: () => inFlight,
  };
}
