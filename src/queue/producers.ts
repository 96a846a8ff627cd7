import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { QUEUE } from './names.js';
import type { InboundJob } from './payloads.js';

export interface Queues {
  inbound: Queue<InboundJob>;
  maintenance: Queue;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(redis: Redis, config: Pick<Config, 'redis' | 'worker'>): Queues {
  const prefix = config.redis.prefix;
  const inbound = new Queue<InboundJob>(QUEUE.inbound, {
    connection: redis,
    prefix,
    defaultJobOptions: {
      attempts: config.worker.attempts,
      backoff: { type: 'exponential', delay: config.worker.backoffMs },
      // the newest QUEUE_KEEP_COMPLETED delivered jobs stay visible (Bull Board); their raw bytes are already in
      // Postgres, so keeping more only costs Redis memory and trimming work (0: removed on completion)
      removeOnComplete: config.worker.keepCompleted === 0 ? true : { count: config.worker.keepCompleted },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
  const maintenance = new Queue(QUEUE.maintenance, {
    connection: redis,
    prefix,
    defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } },
  });
  return {
    inbound,
    maintenance,
    all: () => [inbound, maintenance],
    async close() {
      await Promise.all([inbound.close(), maintenance.close()]);
    },
  };
}
