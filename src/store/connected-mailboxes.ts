import { normalizeAddress } from '../core/address.js';
import type { Db } from './db.js';
import { MAILBOX_COLUMNS, toMailbox, type AccountSettings, type Mailbox, type MailboxRow } from './mailboxes.js';

/** The accounts of a connected mailbox, each with its own columns `<account>_host`, `_port`, ... */
export type Account = 'imap' | 'smtp' | 'bounce_imap';

/** A bounce inbox as stored: its account (password sealed), the folder polled and the VERP domain. */
export type SealedBounceInbox = AccountSettings & { sealedPassword: Buffer; folder: string; verpDomain: string };

/** The column a sealed password lives in, and the additional data it is sealed with (core/secret-box.ts). */
export const passwordColumn = (account: Account) => `${account}_password_encrypted` as const;
export const passwordAad = (account: Account, mailboxId: string) => `mailboxes.${passwordColumn(account)}:${mailboxId}`;

export interface NewConnectedMailbox {
  id: string;
  address: string;
  ownerUserId: string;
  planId: string;
  imap: AccountSettings & { sealedPassword: Buffer };
  smtp: (AccountSettings & { sealedPassword: Buffer }) | null;
  bounceImap?: SealedBounceInbox | null;
}

const bounceColumns = (b: SealedBounceInbox | null) => ({
  ...accountColumns('bounce_imap', b),
  bounce_imap_folder: b?.folder ?? null,
  bounce_verp_domain: b?.verpDomain ?? null,
  // a new or forgotten inbox has not been polled
  bounce_last_poll_at: null,
  bounce_last_poll_result: null,
});

const accountColumns = (account: Account, a: (AccountSettings & { sealedPassword: Buffer }) | null) => ({
  [`${account}_host`]: a?.host ?? null,
  [`${account}_port`]: a?.port ?? null,
  [`${account}_tls_mode`]: a?.tls ?? null,
  [`${account}_username`]: a?.username ?? null,
  [passwordColumn(account)]: a?.sealedPassword ?? null,
});

/** Connected mailboxes of one owner that are active (they never expire): the plan's max_connected_mailboxes. */
export async function countConnected(db: Db, ownerUserId: string): Promise<number> {
  const [row] = await db('mailboxes')
    .where({ owner_user_id: ownerUserId, kind: 'connected', is_active: true })
    .count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

/** Insert a connected mailbox whose passwords are already sealed for its `id`. */
export async function insertConnected(db: Db, m: NewConnectedMailbox): Promise<Mailbox> {
  const [row] = await db('mailboxes')
    .insert({
      id: m.id,
      address: normalizeAddress(m.address),
      kind: 'connected',
      owner_user_id: m.ownerUserId,
      plan_id: m.planId,
      expires_at: null,
      ...accountColumns('imap', m.imap),
      ...accountColumns('smtp', m.smtp),
      ...bounceColumns(m.bounceImap ?? null),
    })
    .returning(MAILBOX_COLUMNS.split(', '));
  return toMailbox(row as MailboxRow);
}

/** The sealed password of one account of a connected mailbox (null: none stored, or forgotten). */
export async function sealedPassword(db: Db, mailboxId: string, account: Account): Promise<Buffer | null> {
  const row = await db('mailboxes')
    .where({ id: mailboxId, kind: 'connected' })
    .first<Record<string, Buffer | null> | undefined>(passwordColumn(account));
  return row?.[passwordColumn(account)] ?? null;
}

/** Forget every account of a connected mailbox at once (DELETE): settings and sealed passwords become null. */
export async function forgetCredentials(db: Db, mailboxId: string): Promise<void> {
  await db('mailboxes')
    .where({ id: mailboxId, kind: 'connected' })
    .update({
      ...accountColumns('imap', null),
      ...accountColumns('smtp', null),
      ...Object.fromEntries(
        ['host', 'port', 'tls_mode', 'username', 'password_encrypted', 'folder'].map((c) => [`bounce_imap_${c}`, null]),
      ),
      bounce_verp_domain: null,
    });
}

/** Whether this owner already has a connected mailbox at this address (any state: the unique index covers all). */
export const connectedExists = async (db: Db, ownerUserId: string, address: string): Promise<boolean> =>
  (await db('mailboxes')
    .where({ owner_user_id: ownerUserId, kind: 'connected' })
    .andWhereRaw('lower(address) = ?', [normalizeAddress(address)])
    .first('id')) !== undefined;

/**
 * Replace accounts of an active connected mailbox (each already verified and its password sealed for this row):
 * an account left undefined is kept, `null` forgets it. Undefined when the mailbox is gone meanwhile.
 */
export async function updateConnectedAccounts(
  db: Db,
  mailboxId: string,
  accounts: {
    imap?: AccountSettings & { sealedPassword: Buffer };
    smtp?: (AccountSettings & { sealedPassword: Buffer }) | null;
    bounceImap?: SealedBounceInbox | null;
  },
): Promise<Mailbox | undefined> {
  const [row] = await db('mailboxes')
    .where({ id: mailboxId, kind: 'connected', is_active: true })
    .update({
      ...(accounts.imap !== undefined ? accountColumns('imap', accounts.imap) : {}),
      ...(accounts.smtp !== undefined ? accountColumns('smtp', accounts.smtp) : {}),
      ...(accounts.bounceImap !== undefined ? bounceColumns(accounts.bounceImap) : {}),
    })
    .returning(MAILBOX_COLUMNS.split(', '));
  return row ? toMailbox(row as MailboxRow) : undefined;
}

/** A connected mailbox an IDLE watcher should follow, and a fingerprint of its IMAP account (changes on PATCH). */
export interface WatchableMailbox {
  id: string;
  fingerprint: string;
}

/**
 * Every active connected mailbox with an IMAP account, with an md5 of its settings and sealed password (a PATCH
 * of the account seals the password again, with a new IV: the fingerprint changes). The password stays sealed;
 * only its digest leaves the database.
 */
export async function watchableConnected(db: Db): Promise<WatchableMailbox[]> {
  return db('mailboxes')
    .where({ kind: 'connected', is_active: true })
    .whereNotNull('imap_host')
    .whereNotNull(passwordColumn('imap'))
    .select(
      'id',
      db.raw(
        `md5(concat_ws('|', imap_host, imap_port::text, imap_tls_mode::text, imap_username, encode(${passwordColumn('imap')}, 'base64'))) as fingerprint`,
      ),
    );
}
