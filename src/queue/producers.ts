import type { Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import type { RedisClient } from '../core/redis.js';
import { openQueue } from './factory.js';
import { QUEUE } from './names.js';
import type { InboundJob, OutboundJob } from './payloads.js';
import { groupByShard, inboundShardName } from './shards.js';
import type { WebhookJob } from './webhook-jobs.js';

export interface Queues {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES: the first inbound shard (the only one with INBOUND_SHARDS=1) */
  inbound: Queue<InboundJob>;
  /** every inbound shard, by shard number (src/queue/shards.ts) */
  inboundShards: Array<Queue<InboundJob>>;
  /** messages above WORKER_LARGE_MESSAGE_BYTES */
  inboundLarge: Queue<InboundJob>;
  /** the inbound queue for a raw message of this many bytes (the first shard when sharded: see inboundPlan) */
  inboundFor(bytes: number): Queue<InboundJob>;
  /** where a message of this size to these recipients is queued: one queue and its recipients per shard */
  inboundPlan(bytes: number, recipients: string[]): Array<{ queue: Queue<InboundJob>; to: string[] }>;
  maintenance: Queue;
  /** outbound messages (job id = row id) and the outbound sweeper */
  outbound: Queue<OutboundJob>;
  /** bounce inbox polls (bounce-jobs.ts) */
  bounces: Queue;
  /** webhook deliveries (src/webhooks/) */
  webhooks: Queue<WebhookJob>;
  all(): Queue[];
  close(): Promise<void>;
}

/** Where a message is queued: ingress needs nothing else. */
export type InboundQueues = Pick<Queues, 'inboundFor' | 'inboundPlan'>;

export function createQueues(
  redis: RedisClient,
  config: Pick<Config, 'redis' | 'worker'> & { mail: Pick<Config['mail'], 'tagSeparator'> },
): Queues {
  const inboundQueue = (name: string) =>
    openQueue<InboundJob>(redis, config.redis, name, {
      defaultJobOptions: {
        attempts: config.worker.attempts,
        backoff: { type: 'exponential', delay: config.worker.backoffMs },
        // QUEUE_KEEP_COMPLETED (default 0): a delivered job is removed on completion; its raw bytes are already in
        // Postgres. Keeping the newest N (visible in Bull Board) made BullMQ's completion script trim one old job
        // per completion, which cost Redis measurably more CPU per message (see docs/benchmarks/README.md)
        removeOnComplete: config.worker.keepCompleted === 0 ? true : { count: config.worker.keepCompleted },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
  const shards = config.redis.inboundShards;
  const inboundShards = Array.from({ length: shards }, (_, i) => inboundQueue(inboundShardName(i, shards)));
  const inbound = inboundShards[0]!;
  const inboundLarge = inboundQueue(QUEUE.inboundLarge);
  const maintenance = openQueue(redis, config.redis, QUEUE.maintenance, {
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 1000 },
    },
  });
  const outbound = openQueue<OutboundJob>(redis, config.redis, QUEUE.outbound, {
    defaultJobOptions: {
      // retries of a send are the row's (next_retry_at, OUTBOUND_MAX_ATTEMPTS), scheduled by moving the same job to
      // delayed; BullMQ's own attempts only cover an unexpected failure (Postgres down) of the processor
      attempts: 20,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      // removed at once: the sweeper re-adds a row whose job is gone, and a kept failed job would block its id
      removeOnFail: true,
    },
  });
  // one attempt per poll: the next scheduled poll is the retry; finished jobs removed so a mailbox's job id frees
  const bounces = openQueue(redis, config.redis, QUEUE.bounces, {
    defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } },
  });
  // the retry schedule lives in Postgres (next_attempt_at): a job re-runs by delaying itself, never by BullMQ's
  // attempts; these attempts only cover a failure of the processor itself (Postgres down), and the webhooks
  // scheduler re-adds whatever is overdue
  const webhooks = openQueue<WebhookJob>(redis, config.redis, QUEUE.webhooks, {
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  const all = [...inboundShards, inboundLarge, maintenance, outbound, bounces, webhooks];
  const separator = config.mail.tagSeparator;
  return {
    inbound,
    inboundShards,
    inboundLarge,
    inboundFor: (bytes) => (bytes > config.worker.largeMessageBytes ? inboundLarge : inbound),
    inboundPlan(bytes, to) {
      // large messages are rare: one queue, no shards
      if (bytes > config.worker.largeMessageBytes) return [{ queue: inboundLarge, to }];
      if (shards === 1 || to.length === 0) return [{ queue: inbound, to }];
      return [...groupByShard(to, shards, separator)].map(([s, group]) => ({ queue: inboundShards[s]!, to: group }));
    },
    maintenance,
    outbound,
    bounces,
    webhooks,
    all: () => all,
    async close() {
      await Promise.all(all.map((q) => q.close()));
    },
  };
}
