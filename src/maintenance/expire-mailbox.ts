import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { MaintenanceDeps } from './context.js';
import type { ExpireMailboxJob } from '../queue/maintenance-jobs.js';
import { publishExpired } from '../pubsub/publish-expired.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import { mailboxEnded } from '../store/mailboxes.js';

export type ExpireOutcome = 'expired' | 'redelayed' | 'nothing_to_do';

/**
 * The on-time expiry of one mailbox (a delayed job due at expires_at). The UPDATE is conditional
 * (active and past expires_at), so a job that runs twice, or after a DELETE or the sweep, does
 * nothing. A job that finds the mailbox still active with a later expires_at (its TTL was extended
 * while this job could not be removed, or clocks disagree by a few ms) moves itself to the new time.
 */
export async function expireMailbox(
  job: Job<ExpireMailboxJob>,
  token: string | undefined,
  deps: MaintenanceDeps,
): Promise<ExpireOutcome> {
  if (job.data.v !== 1) throw new UnrecoverableError(`unknown expire-mailbox job version ${String(job.data.v)}`);
  const { mailboxId } = job.data;
  const expired = await deps.lifecycle.expireOne(mailboxId);
  if (expired) {
    // how long after expires_at the job deactivated it (BullMQ's job.delay is not kept once the job is due)
    deps.log.info({
      event: 'mailbox.expired',
      mailboxId,
      via: 'job',
      lateMs: Math.max(0, Date.now() - expired.expiresAt.getTime()),
    });
    await publishExpired([mailboxId], deps);
    await enqueueWebhookDeliveriesSafely(
      deps.queues?.webhooks,
      expired.webhookDeliveries,
      deps.log,
      deps.config.redis?.enqueueTimeoutMs ?? 3_000,
    );
    return 'expired';
  }
  const state = await deps.lifecycle.expiryOf(mailboxId);
  // still live (mailboxEnded), with an expiry still ahead: its TTL was extended, wait for the new time
  if (state && !mailboxEnded(state) && state.expiresAt) {
    await job.moveToDelayed(state.expiresAt.getTime(), token);
    throw new DelayedError();
  }
  return 'nothing_to_do';
}
