import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { scheduleExpirySafely } from '../queue/expiry-jobs.js';
import type { Queues } from '../queue/producers.js';
import { BadRequest, Conflict, QuotaExceeded, Unavailable } from '../core/errors.js';
import type { TokenSigner } from '../access/tokens.js';
import { createStores } from '../store/index.js';
import type { Mailbox } from '../store/mailboxes.js';
import type { PlanStore } from '../store/plans.js';
import type { Permission } from '../store/tokens.js';
import { asciiDomain, randomLocalPart } from '../core/address.js';
import { effectiveTtlMinutes } from './ttl.js';

export interface CreateMailboxInput {
  ownerUserId: string | null;
  planId: string;
  ttlMinutes?: number;
  domain?: string;
  /** a chosen local part, already validated (chosenLocalPart); absent: a random one */
  localPart?: string;
}

export interface CreatedMailbox {
  mailbox: Mailbox;
  ttlMinutes: number;
  token: string;
}

const addressTaken = (err: unknown) => {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'mailboxes_address_key';
};

/** Permissions of the token handed out with a new mailbox. */
export const CREATOR_PERMISSIONS: Permission[] = ['read', 'send', 'manage'];

/**
 * Create a hosted mailbox and its first token in one transaction. The per-user active-mailbox limit is
 * race-free: the user's row is locked while counting, so concurrent creations queue behind each other.
 * After the commit, its expiry job is scheduled at expires_at (if Redis fails, the sweep expires it).
 */
export async function createMailbox(
  deps: {
    db: Knex;
    plans: PlanStore;
    signer: TokenSigner;
    config: Config;
    queues: Pick<Queues, 'maintenance'>;
    log: Logger;
  },
  input: CreateMailboxInput,
): Promise<CreatedMailbox> {
  const plan = await deps.plans.get(input.planId);
  if (!plan) throw new Unavailable(`plan ${input.planId} is missing; run the release step`);
  // `?domain=` may name an internationalised domain in Unicode or punycode: both are the configured punycode
  const domain = input.domain !== undefined ? asciiDomain(input.domain) : deps.config.mail.domains[0]!;
  if (!deps.config.mail.domains.includes(domain)) {
    throw new BadRequest(`domain must be one of: ${deps.config.mail.domains.join(', ')}`, 'invalid_domain');
  }
  const ttlMinutes = effectiveTtlMinutes(input.ttlMinutes, plan);
  const created = await deps.db.transaction(async (trx): Promise<CreatedMailbox> => {
    const stores = createStores(trx, { plans: deps.plans });
    if (input.ownerUserId && plan.maxActiveMailboxes !== null) {
      await trx('users').where({ id: input.ownerUserId }).forUpdate().first('id');
      const active = await stores.mailboxes.countActiveByOwner(input.ownerUserId);
      if (active >= plan.maxActiveMailboxes) {
        throw new QuotaExceeded(
          `your plan allows ${plan.maxActiveMailboxes} active mailboxes`,
          'mailbox_limit_reached',
        );
      }
    }
    const address = `${input.localPart ?? randomLocalPart()}@${domain}`;
    const mailbox = await stores.mailboxes
      .create({
        address,
        ownerUserId: input.ownerUserId,
        planId: plan.id,
        ttlMs: ttlMinutes * deps.config.plans.ttlUnitMs,
      })
      .catch((err: unknown) => {
        // the unique index on lower(address) covers every row: an ended mailbox holds its address until it is purged
        if (addressTaken(err))
          throw new Conflict(
            `${address} is taken (by a mailbox, or one that ended and is not purged yet)`,
            'address_taken',
          );
        throw err;
      });
    const { token, jti } = await deps.signer.sign(mailbox.id, CREATOR_PERMISSIONS);
    await stores.tokens.insert({
      jti,
      mailboxId: mailbox.id,
      userId: input.ownerUserId,
      name: 'creator',
      permissions: CREATOR_PERMISSIONS,
      expiresAt: mailbox.expiresAt!,
    });
    return { mailbox, ttlMinutes, token };
  });
  await scheduleExpirySafely(
    deps.queues.maintenance,
    created.mailbox.id,
    created.mailbox.expiresAt,
    deps.log,
    deps.config.redis.enqueueTimeoutMs,
  );
  return created;
}
