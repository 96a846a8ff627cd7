/** Job names, the scheduler id and payloads of the `bounces` queue (issue 21). */
export const BOUNCE_JOB = {
  /** every BOUNCE_POLL_EVERY_MS: adds one pollMailbox job per mailbox with a bounce inbox */
  pollAll: 'bounce-poll',
  pollMailbox: 'poll-mailbox',
} as const;

export const BOUNCE_SCHEDULER_ID = 'bounce-poll';

export interface PollMailboxJob {
  v: 1;
  mailboxId: string;
}

/** One waiting or running poll per mailbox: BullMQ ignores an add whose id exists (ids must not contain ':'). */
export const bouncePollJobId = (mailboxId: string) => `bounce-${mailboxId}`;
