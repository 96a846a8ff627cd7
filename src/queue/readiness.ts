import type { Queue } from 'bullmq';
import type { RedisClient } from '../core/redis.js';

/**
 * Can the queues be used right now? A PING only proves that one node answers. Every BullMQ script touches several
 * keys of one queue, so this sends one two-key command per queue (EXISTS of its `meta` and `id` keys, which share
 * the queue's slot): it fails exactly when the queue scripts would, with a MOVED storm (a standalone client on a
 * cluster node), CROSSSLOT (keys of one queue in two slots), TRYAGAIN past the retries (a slot half migrated),
 * CLUSTERDOWN or a master that is gone. Resolves with undefined when every queue answered, else `<queue>: <error>`.
 */
export async function probeQueues(redis: RedisClient, queues: Queue[]): Promise<string | undefined> {
  const failures = await Promise.all(
    queues.map((q) =>
      redis.exists(q.toKey('meta'), q.toKey('id')).then(
        () => undefined,
        (err: Error) => `${q.name}: ${err.message}`,
      ),
    ),
  );
  return failures.find((f) => f !== undefined);
}
