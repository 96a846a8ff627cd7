import type { Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import { MAINTENANCE_JOB, SCHEDULER_ID } from '../queue/maintenance-jobs.js';

/**
 * The repeatable maintenance jobs, upserted on every worker boot (fixed ids: idempotent, and a
 * changed interval replaces the old one). One attempt each: the next run is the retry, and BullMQ
 * schedules the next run when this one starts, so a failing run (database down) never ends the schedule.
 */
export async function upsertMaintenanceSchedules(queue: Queue, config: Pick<Config, 'lifecycle'>): Promise<void> {
  const opts = { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } };
  await queue.upsertJobScheduler(
    SCHEDULER_ID.sweep,
    { every: config.lifecycle.sweepIntervalMs },
    { name: MAINTENANCE_JOB.sweepExpired, data: {}, opts },
  );
  await queue.upsertJobScheduler(
    SCHEDULER_ID.purge,
    { every: config.lifecycle.purgeIntervalMs },
    { name: MAINTENANCE_JOB.purgeInactive, data: {}, opts },
  );
}
