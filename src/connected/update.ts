import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import { BadRequest, NotFound } from '../core/errors.js';
import { open, seal, type KeyRing } from '../core/secret-box.js';
import { passwordAad, sealedPassword, updateConnectedAccounts, type Account } from '../store/connected-mailboxes.js';
import type { AccountSettings, Mailbox } from '../store/mailboxes.js';
import { connectedGuard, type AccountLogin } from './account.js';
import { AccountRejected, ConnectedDisabled } from './errors.js';
import { verifyImapLogin } from './verify.js';
import { verifySmtpLogin } from './verify-smtp.js';
import { DEFAULT_BOUNCE_FOLDER, sealBounceInbox, verifyBounceInbox, type BounceInboxLogin } from './bounce-inbox.js';
import { domainOf } from '../core/address.js';

/** Fields of one account to replace; the others keep their stored values. */
export type AccountPatch = Partial<AccountLogin>;

export interface ConnectedPatch {
  imap?: AccountPatch;
  smtp?: AccountPatch | null;
  /** the bounce inbox (issue 21): null forgets it (the mailbox is no longer polled) */
  bounceImap?: (AccountPatch & { folder?: string; verpDomain?: string }) | null;
}

type Deps = { db: Knex; config: Config; credentials?: KeyRing };

const SETTINGS = ['host', 'port', 'tls', 'username'] as const;

/**
 * The login an account will have after the patch. Changing where or as whom it logs in (host, port, tls,
 * username) needs the password again (422 password_required): a stored password never goes to a new server.
 */
async function mergedLogin(deps: Deps & { credentials: KeyRing }, m: Mailbox, account: Account, patch: AccountPatch) {
  const stored = account === 'bounce_imap' ? m.bounceImap : m[account];
  const changed = SETTINGS.filter((k) => patch[k] !== undefined && patch[k] !== stored?.[k]);
  const settings = {
    ...stored,
    ...Object.fromEntries(SETTINGS.filter((k) => patch[k] !== undefined).map((k) => [k, patch[k]])),
  };
  const missing = SETTINGS.filter((k) => settings[k] === undefined);
  if (missing.length > 0)
    throw new BadRequest(
      `invalid request body: ${account}.${missing[0]} is required (no ${account} account is stored)`,
      'invalid_body',
    );
  let password = patch.password;
  if (password === undefined) {
    const sealed = stored && changed.length === 0 ? await sealedPassword(deps.db, m.id, account) : null;
    if (!sealed)
      throw new AccountRejected(
        'password_required',
        stored
          ? `changing ${account}.${changed[0]} needs ${account}.password: a stored password never goes to a new server`
          : `${account}.password is required`,
      );
    password = open(deps.credentials, sealed, passwordAad(account, m.id));
  }
  const { host, port, tls, username } = settings as AccountSettings;
  return { host, port, tls, username, password };
}

/** The bounce inbox after the patch: its login merged like the others, folder and VERP domain kept unless given. */
async function mergedBounceInbox(
  deps: Deps & { credentials: KeyRing },
  m: Mailbox,
  patch: NonNullable<ConnectedPatch['bounceImap']>,
): Promise<BounceInboxLogin> {
  const { folder, verpDomain, ...login } = patch;
  return {
    ...(await mergedLogin(deps, m, 'bounce_imap', login)),
    folder: folder ?? m.bounceImap?.folder ?? DEFAULT_BOUNCE_FOLDER,
    verpDomain: verpDomain ?? m.bounceImap?.verpDomain ?? domainOf(m.address),
  };
}

/**
 * PATCH of a connected mailbox's accounts: given fields replace stored ones, each given account is verified
 * again (LOGIN/LOGOUT for imap, EHLO/AUTH/QUIT for smtp) before anything is saved (a failure keeps the old
 * settings), then saved with its password sealed again for its row and column. `smtp: null` forgets the SMTP
 * account.
 */
export async function updateConnectedMailbox(deps: Deps, m: Mailbox, patch: ConnectedPatch): Promise<Mailbox> {
  const ring = deps.credentials;
  if (!ring) throw new ConnectedDisabled();
  const { allowHosts, imapTimeoutMs } = deps.config.connected;
  const ringDeps = { ...deps, credentials: ring };
  const imap = patch.imap ? await mergedLogin(ringDeps, m, 'imap', patch.imap) : undefined;
  const smtp = patch.smtp ? await mergedLogin(ringDeps, m, 'smtp', patch.smtp) : patch.smtp;
  const bounce = patch.bounceImap ? await mergedBounceInbox(ringDeps, m, patch.bounceImap) : patch.bounceImap;
  if (imap) await verifyImapLogin(connectedGuard(allowHosts, 'imap'), imap, imapTimeoutMs);
  if (smtp) await verifySmtpLogin(connectedGuard(allowHosts, 'smtp'), smtp, imapTimeoutMs);
  if (bounce) await verifyBounceInbox(deps.config, bounce);
  const sealAccount = (account: Account, { password, ...settings }: AccountLogin) => ({
    ...settings,
    sealedPassword: seal(ring, password, passwordAad(account, m.id)),
  });
  const updated = await updateConnectedAccounts(deps.db, m.id, {
    ...(imap ? { imap: sealAccount('imap', imap) } : {}),
    ...(smtp ? { smtp: sealAccount('smtp', smtp) } : smtp === null ? { smtp: null } : {}),
    ...(bounce ? { bounceImap: sealBounceInbox(ring, m.id, bounce) } : bounce === null ? { bounceImap: null } : {}),
  });
  if (!updated) throw new NotFound('mailbox not found', 'mailbox_not_found');
  return updated;
}
