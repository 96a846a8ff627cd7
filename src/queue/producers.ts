import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { QUEUE } from './names.js';
import type { InboundJob, OutboundJob } from './payloads.js';

export interface Queues {
  /** messages up to WORKER_LARGE_MESSAGE_BYTES */
  inbound: Queue<InboundJob>;
  /** messages above WORKER_LARGE_MESSAGE_BYTES */
  inboundLarge: Queue<InboundJob>;
  /** the inbound queue for a raw message of this many bytes */
  inboundFor(bytes: number): Queue<InboundJob>;
  maintenance: Queue;
  /** outbound messages (job id = row id) and the outbound sweeper */
  outbound: Queue<OutboundJob>;
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
  const outbound = new Queue<OutboundJob>(QUEUE.outbound, {
    connection: redis,
    prefix,
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
  return {
    inbound,
    inboundLarge,
    inboundFor: (bytes) => (bytes > config.worker.largeMessageBytes ? inboundLarge : inbound),
    maintenance,
    outbound,
    all: () => [inbound, inboundLarge, maintenance, outbound],
    async close() {
      await Promise.all([inbound.close(), inboundLarge.close(), maintenance.close(), outbound.close()]);
    },
  };
}
