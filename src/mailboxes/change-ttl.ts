import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import { MailboxGone, Unavailable } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { cancelExpirySafely, scheduleExpirySafely } from '../queue/expiry-jobs.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import { publishExpired } from '../pubsub/publish-expired.js';
import type { Publisher } from '../pubsub/events.js';
import type { Queues } from '../queue/producers.js';
import { lifecycleStore } from '../store/lifecycle.js';
import type { Mailbox } from '../store/mailboxes.js';
import type { PlanStore } from '../store/plans.js';
import { effectiveTtlMinutes } from './ttl.js';

export interface ChangeTtlDeps {
  db: Knex;
  plans: PlanStore;
  config: Pick<Config, 'plans' | 'redis'>;
  queues: Pick<Queues, 'maintenance'> & Partial<Pick<Queues, 'webhooks'>>;
  publisher: Publisher;
  log: Logger;
}

export interface TtlChanged {
  ttlMinutes: number;
  expiresAt: Date;
  expiredNow: boolean;
  tokensMoved: number;
}

/**
 * Set a mailbox's TTL, measured from its creation (the same meaning as `ttl_minutes` at creation):
 * expires_at = created_at + min(N, plan max). The plan cap therefore bounds the whole life of a
 * mailbox, however often it is extended. A TTL that has already elapsed expires the mailbox at once.
 * The expiry job is moved while the mailbox row is still locked, so concurrent changes cannot leave
 * the job at a stale time; agent tokens tied to the mailbox's life follow the new expiry.
 */
export async function changeTtl(deps: ChangeTtlDeps, mailbox: Mailbox, requestedMinutes: number): Promise<TtlChanged> {
  const plan = await deps.plans.get(mailbox.planId);
  if (!plan) throw new Unavailable(`plan ${mailbox.planId} is missing; run the release step`);
  const ttlMinutes = effectiveTtlMinutes(requestedMinutes, plan);
  const log = deps.log.child({ mailboxId: mailbox.id });
  const change = await deps.db.transaction(async (trx) => {
    const c = await lifecycleStore(trx).setTtlFromCreation(mailbox.id, ttlMinutes * deps.config.plans.ttlUnitMs);
    if (c && !c.expiredNow)
      await scheduleExpirySafely(
        deps.queues.maintenance,
        mailbox.id,
        c.expiresAt,
        log,
        deps.config.redis.enqueueTimeoutMs,
      );
    return c;
  });
  if (!change) throw new MailboxGone('mailbox_expired', 'mailbox has expired');
  if (change.expiredNow) {
    await cancelExpirySafely(deps.queues.maintenance, mailbox.id, log, deps.config.redis.enqueueTimeoutMs);
    await publishExpired([mailbox.id], deps);
    await enqueueWebhookDeliveriesSafely(
      deps.queues.webhooks,
      change.webhookDeliveries,
      log,
      deps.config.redis.enqueueTimeoutMs,
    );
  }
  log.info({
    event: 'mailbox.ttl_changed',
    ttlMinutes,
    requestedMinutes,
    expiredNow: change.expiredNow,
    tokensMoved: change.tokensMoved,
  });
  return { ttlMinutes, expiresAt: change.expiresAt, expiredNow: change.expiredNow, tokensMoved: change.tokensMoved };
}
