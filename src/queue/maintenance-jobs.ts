/** Job names, scheduler ids and payloads of the maintenance queue. */
export const MAINTENANCE_JOB = {
  expireMailbox: 'expire-mailbox',
  sweepExpired: 'sweep-expired',
  purgeInactive: 'purge-inactive',
} as const;

export type MaintenanceJobName = (typeof MAINTENANCE_JOB)[keyof typeof MAINTENANCE_JOB];

/** Fixed scheduler ids: upserting them on every worker boot is idempotent. */
export const SCHEDULER_ID = { sweep: 'sweep-expired', purge: 'purge-inactive' } as const;

export interface ExpireMailboxJob {
  v: 1;
  mailboxId: string;
}

/** One delayed job per mailbox. BullMQ custom ids must not contain ':' (a UUID never does). */
export const expiryJobId = (mailboxId: string) => `expire-${mailboxId}`;
