import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { domainOf } from '../core/address.js';
import type { Config } from '../core/config.js';
import { Conflict, QuotaExceeded, Unavailable } from '../core/errors.js';
import { seal, type KeyRing } from '../core/secret-box.js';
import { connectedExists, countConnected, insertConnected, passwordAad } from '../store/connected-mailboxes.js';
import type { Mailbox } from '../store/mailboxes.js';
import type { PlanStore } from '../store/plans.js';
import { connectedGuard, type AccountLogin } from './account.js';
import { AccountRejected, ConnectedDisabled } from './errors.js';
import { verifyImapLogin } from './verify.js';
import { verifySmtpLogin } from './verify-smtp.js';
import { sealBounceInbox, verifyBounceInbox, type BounceInboxLogin } from './bounce-inbox.js';

export interface ConnectedMailboxInput {
  ownerUserId: string;
  planId: string;
  address: string;
  imap: AccountLogin;
  smtp?: AccountLogin | null;
  /** the bounce inbox polled for DSNs (issue 21); folder and VERP domain already defaulted */
  bounceImap?: BounceInboxLogin | null;
}

const mailboxExists = (address: string) =>
  new Conflict(`you already have a connected mailbox for ${address}`, 'mailbox_exists');

const sealAccount = (ring: KeyRing, { password, ...settings }: AccountLogin, aad: string) => ({
  ...settings,
  sealedPassword: seal(ring, password, aad),
});

const connectedUnique = (err: unknown) => {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'mailboxes_connected_address_key';
};

/**
 * Connect a user's own IMAP account as a mailbox. In order: CREDENTIALS_KEY present (else 501), the address not
 * at one of MAIL_DOMAINS (422 address_reserved: those are hosted), the plan's limit and the owner's uniqueness
 * (cheap checks before any connection), the host guard and a LOGIN/LOGOUT (and, with `smtp`, EHLO/AUTH/QUIT), then one transaction that locks the
 * user's row, counts again (race-free limit) and inserts the row with each password sealed for that row's id and column.
 * A failure stores nothing.
 */
export async function createConnectedMailbox(
  deps: { db: Knex; plans: PlanStore; config: Config; credentials?: KeyRing },
  input: ConnectedMailboxInput,
): Promise<Mailbox> {
  const ring = deps.credentials;
  if (!ring) throw new ConnectedDisabled();
  if (deps.config.mail.domains.includes(domainOf(input.address)))
    throw new AccountRejected(
      'address_reserved',
      `${domainOf(input.address)} is one of this server's own mail domains: create a hosted mailbox instead`,
    );
  const plan = await deps.plans.get(input.planId);
  if (!plan) throw new Unavailable(`plan ${input.planId} is missing; run the release step`);
  const limit = plan.maxConnectedMailboxes;
  const overLimit = (n: number) => limit !== null && n >= limit;
  const limitReached = () =>
    new QuotaExceeded(`your plan allows ${limit ?? 0} connected mailboxes`, 'connected_limit_reached');
  if (overLimit(await countConnected(deps.db, input.ownerUserId))) throw limitReached();
  if (await connectedExists(deps.db, input.ownerUserId, input.address)) throw mailboxExists(input.address);

  await verifyImapLogin(
    connectedGuard(deps.config.connected.allowHosts, 'imap'),
    input.imap,
    deps.config.connected.imapTimeoutMs,
  );
  if (input.smtp)
    await verifySmtpLogin(
      connectedGuard(deps.config.connected.allowHosts, 'smtp'),
      input.smtp,
      deps.config.connected.imapTimeoutMs,
    );
  if (input.bounceImap) await verifyBounceInbox(deps.config, input.bounceImap);

  return deps.db.transaction(async (trx) => {
    await trx('users').where({ id: input.ownerUserId }).forUpdate().first('id');
    if (overLimit(await countConnected(trx, input.ownerUserId))) throw limitReached();
    const id = randomUUID();
    return insertConnected(trx, {
      id,
      address: input.address,
      ownerUserId: input.ownerUserId,
      planId: plan.id,
      imap: sealAccount(ring, input.imap, passwordAad('imap', id)),
      smtp: input.smtp ? sealAccount(ring, input.smtp, passwordAad('smtp', id)) : null,
      bounceImap: input.bounceImap ? sealBounceInbox(ring, id, input.bounceImap) : null,
    }).catch((err: unknown) => {
      if (connectedUnique(err)) throw mailboxExists(input.address);
      throw err;
    });
  });
}
