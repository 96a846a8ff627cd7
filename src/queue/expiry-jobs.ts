import type { Queue } from 'bullmq';
import type { Logger } from '../core/log.js';
import { within } from '../core/timeout.js';
import { expiryJobId, MAINTENANCE_JOB, type ExpireMailboxJob } from './maintenance-jobs.js';

/**
 * Schedule (or move) the on-time expiry job of a mailbox: one delayed job per mailbox, due at
 * expires_at. A job already there (any state) is removed first, because adding an existing id is a
 * no-op in BullMQ. A job that is running right now cannot be removed; it re-checks expires_at in the
 * database and re-delays itself, so the schedule stays right.
 */
export async function scheduleExpiry(
  queue: Queue,
  mailboxId: string,
  expiresAt: Date,
  now = Date.now(),
): Promise<void> {
  const jobId = expiryJobId(mailboxId);
  await cancelExpiry(queue, mailboxId);
  const data: ExpireMailboxJob = { v: 1, mailboxId };
  await queue.add(MAINTENANCE_JOB.expireMailbox, data, {
    jobId,
    delay: Math.max(0, expiresAt.getTime() - now),
    removeOnComplete: true,
    removeOnFail: { count: 1000 },
  });
}

/** Remove the expiry job of a mailbox if it is not running; true when one was removed. */
export async function cancelExpiry(queue: Queue, mailboxId: string): Promise<boolean> {
  const removed = await queue.remove(expiryJobId(mailboxId));
  return removed === 1;
}

/** Reject when Redis has not answered within `ms` (ENQUEUE_TIMEOUT_MS): a hung Redis must not hang an API call. */
const redisWithin = <T>(ms: number, work: Promise<T>) => within(work, ms, `Redis did not answer within ${ms} ms`);

/**
 * The same, for callers that must not fail because of Redis (mailbox creation, TTL change, delete):
 * a failure or a timeout is logged, and the safety sweep expires the mailbox within SWEEP_INTERVAL_MS instead.
 */
export async function scheduleExpirySafely(
  queue: Queue,
  mailboxId: string,
  expiresAt: Date | null,
  log: Logger,
  timeoutMs: number,
): Promise<boolean> {
  if (!expiresAt) return false;
  try {
    await redisWithin(timeoutMs, scheduleExpiry(queue, mailboxId, expiresAt));
    return true;
  } catch (err) {
    log.warn({ event: 'lifecycle.schedule_failed', mailboxId, err, hint: 'the safety sweep will expire it' });
    return false;
  }
}

export async function cancelExpirySafely(
  queue: Queue,
  mailboxId: string,
  log: Logger,
  timeoutMs: number,
): Promise<void> {
  try {
    await redisWithin(timeoutMs, cancelExpiry(queue, mailboxId));
  } catch (err) {
    log.warn({ event: 'lifecycle.cancel_failed', mailboxId, err });
  }
}
