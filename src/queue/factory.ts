import { Queue, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import type { Config } from '../core/config.js';
import type { RedisClient } from '../core/redis.js';

/**
 * The one place a BullMQ queue gets its Redis keys: every Queue and Worker of Mailwright is opened here, so a new
 * queue is right on a standalone Redis and on a Redis Cluster without knowing which it runs on.
 *
 * BullMQ keeps one queue's keys (`<prefix>:<name>:wait`, `:active`, `:meta`, job hashes, …) together in Lua
 * scripts, so on a cluster they must share a hash slot, while different queues should land on different masters.
 * - standalone: the prefix is QUEUE_PREFIX (`mw:inbound:wait`): the keys of every release so far;
 * - cluster: the prefix carries the queue's own hash tag, `{<QUEUE_PREFIX>:<name>}` (`{mw:inbound-3}:inbound-3:wait`):
 *   one slot per queue, so queues (and inbound shards) spread over the masters. A queue picks its tag by picking
 *   its name; two queues never share one. QUEUE_PREFIX itself may not hold a tag there (core/config.ts refuses it).
 */
export interface QueuePlace {
  name: string;
  prefix: string;
}

export type RedisPlacement = Pick<Config['redis'], 'prefix' | 'cluster'>;

export function queuePlace(redis: RedisPlacement, name: string): QueuePlace {
  return { name, prefix: redis.cluster ? `{${redis.prefix}:${name}}` : redis.prefix };
}

/** A producer-side Queue for `name`, its keys placed by queuePlace. */
export function openQueue<T = unknown>(
  connection: RedisClient,
  redis: RedisPlacement,
  name: string,
  opts: Omit<QueueOptions, 'connection' | 'prefix'> = {},
): Queue<T> {
  return new Queue<T>(name, { ...opts, connection, prefix: queuePlace(redis, name).prefix });
}

/** A Worker consuming `name`: the same placement as openQueue, so producers and workers always meet. */
export function openWorker<T = unknown, R = unknown>(
  connection: RedisClient,
  redis: RedisPlacement,
  name: string,
  processor: Processor<T, R>,
  opts: Omit<WorkerOptions, 'connection' | 'prefix'> = {},
): Worker<T, R> {
  return new Worker<T, R>(name, processor, { ...opts, connection, prefix: queuePlace(redis, name).prefix });
}
