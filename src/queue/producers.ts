import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { QUEUE } from './names.js';
import type { InboundJob } from './payloads.js';
import type { WebhookJob } from './webhook-jobs.js';

export interface Queues {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES */
  inbound: Queue<InboundJob>;
  /** messages above WORKER_LARGE_MESSAGE_BYTES */
  inboundLarge: Queue<InboundJob>;
  /** the inbound queue for a raw message of this many bytes */
  inboundFor(bytes: number): Queue<InboundJob>;
  maintenance: Queue;
  /** webhook deliveries (src/webhooks/) */
  webhooks: Queue<WebhookJob>;
  all(): Queue[];
  close(): Promise<void>;
}

/** Where a message is queued: ingress needs nothing else. */
export type InboundQueues = Pick<Queues, 'inboundFor'>;

export function createQueues(redis: Redis, config: Pick<Config, 'redis' | 'worker'>): Queues {
  const prefix = config.redis.prefix;
  const inboundQueue = (name: string) =>
    new Queue<InboundJob>(name, {
      connection: redis,
      prefix,
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
  const inbound = inboundQueue(QUEUE.inbound);
  const inboundLarge = inboundQueue(QUEUE.inboundLarge);
  const maintenance = new Queue(QUEUE.maintenance, {
    connection: redis,
    prefix,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 1000 },
    },
  });
  // the retry schedule lives in Postgres (next_attempt_at): a job re-runs by delaying itself, never by BullMQ's
  // attempts; these attempts only cover a failure of the processor itself (Postgres down), and the webhooks
  // scheduler re-adds whatever is overdue
  const webhooks = new Queue<WebhookJob>(QUEUE.webhooks, {
    connection: redis,
    prefix,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  return {
    inbound,
    inboundLarge,
    inboundFor: (bytes) => (bytes > config.worker.largeMessageBytes ? inboundLarge : inbound),
    maintenance,
    webhooks,
    all: () => [inbound, inboundLarge, maintenance, webhooks],
    async close() {
      await Promise.all([inbound.close(), inboundLarge.close(), maintenance.close(), webhooks.close()]);
    },
  };
}
