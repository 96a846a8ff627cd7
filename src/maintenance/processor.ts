import { UnrecoverableError, type Job } from 'bullmq';
import type { MaintenanceDeps } from './context.js';
import { expireMailbox } from './expire-mailbox.js';
import { MAINTENANCE_JOB, type ExpireMailboxJob } from '../queue/maintenance-jobs.js';
import { purgeInactive } from './purge.js';
import { sweepExpired } from './sweep.js';

/** BullMQ processor for the maintenance queue: dispatch on the job name. */
export function createMaintenanceProcessor(deps: MaintenanceDeps) {
  return async (job: Job, token?: string): Promise<unknown> => {
    switch (job.name) {
      case MAINTENANCE_JOB.expireMailbox:
        return expireMailbox(job as Job<ExpireMailboxJob>, token, deps);
      case MAINTENANCE_JOB.sweepExpired:
        return sweepExpired(deps);
      case MAINTENANCE_JOB.purgeInactive:
        return purgeInactive(deps);
      default:
        throw new UnrecoverableError(`unknown maintenance job "${job.name}"`);
    }
  };
}
