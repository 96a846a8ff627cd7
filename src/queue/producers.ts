import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { QUEUE } from './names.js';
import type { InboundJob } from './payloads.js';

export interface Queues {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES */
  inbound: Queue<InboundJob>;
  /** messages above WORKER_LARGE_MESSAGE_BYTES */
  inboundLarge: Queue<InboundJob>;
  /** the inbound queue for a raw message of this many bytes */
  inboundFor(bytes: number): Queue<InboundJob>;
  maintenance: Queue;
  /** bounce inbox polls (bounce-jobs.ts) */
  bounces: Queue;
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
  // one attempt per poll: the next scheduled poll is the retry; finished jobs removed so a mailbox's job id frees
  const bounces = new Queue(QUEUE.bounces, {
    connection: redis,
    prefix,
    defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } },
  });
  return {
    inbound,
    inboundLarge,
    inboundFor: (bytes) => (bytes > config.worker.largeMessageBytes ? inboundLarge : inbound),
    maintenance,
    bounces,
    all: () => [inbound, inboundLarge, maintenance, bounces],
    async close() {
      await Promise.all([inbound.close(), inboundLarge.close(), maintenance.close(), bounces.close()]);
    },
  };
}
