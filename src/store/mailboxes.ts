import { normalizeAddress } from '../core/address.js';
import type { Knex } from 'knex';
import type { Db } from './db.js';
import { preparedQuery } from './prepared.js';

export type MailboxKind = 'hosted' | 'connected';
export type TlsMode = 'implicit' | 'starttls' | 'none';

/** The settings of one account of a connected mailbox, without its password (that stays sealed in its column). */
export interface AccountSettings {
  host: string;
  port: number;
  tls: TlsMode;
  username: string;
}

export interface Mailbox {
  id: string;
  address: string;
  kind: MailboxKind;
  ownerUserId: string | null;
  planId: string;
  isActive: boolean;
  expiresAt: Date | null;
  deactivatedAt: Date | null;
  deactivatedReason: string | null;
  lastSeq: number;
  messageCount: number;
  usedBytes: number;
  droppedCount: number;
  createdAt: Date;
  /** connected mailboxes: the IMAP account (null once deleted: DELETE forgets it) and the optional SMTP account */
  imap: AccountSettings | null;
  smtp: AccountSettings | null;
  /** connected mailboxes: the bounce inbox polled for DSNs (issue 21); null: none (the mailbox is never polled) */
  bounceImap: BounceInbox | null;
}

/** A connected mailbox's bounce inbox: its IMAP account, the folder polled, the VERP domain, the last poll. */
export interface BounceInbox extends AccountSettings {
  folder: string;
  verpDomain: string;
  lastPollAt: Date | null;
  lastPollResult: Record<string, unknown> | null;
}

/** How a mailbox ended: deleted by its owner, or expired (its TTL ran out). */
export type MailboxEnd = 'expired' | 'deleted';

/** What the live rule reads of a mailbox (a full `Mailbox`, or the few columns a store read). */
export type MailboxLiveness = Pick<Mailbox, 'isActive' | 'expiresAt'> & { deactivatedReason?: string | null };

/**
 * The one rule for "is this mailbox still live": it is active and its expires_at (if any) is still ahead. Once
 * not, why it no longer serves: `deleted`, or `expired` (also when its expires_at has passed before any job
 * deactivated it, or its row is gone); undefined while it is live. The API (410), streams, waits, the delivery
 * pipeline and its mailbox cache all decide with this function.
 */
export const mailboxEnded = (m: MailboxLiveness | undefined, now = Date.now()): MailboxEnd | undefined =>
  !m || !m.isActive || (m.expiresAt !== null && m.expiresAt.getTime() <= now)
    ? m?.deactivatedReason === 'deleted'
      ? 'deleted'
      : 'expired'
    : undefined;

export interface MailboxRow {
  id: string;
  address: string;
  kind: MailboxKind;
  owner_user_id: string | null;
  plan_id: string;
  is_active: boolean;
  expires_at: Date | null;
  deactivated_at: Date | null;
  deactivated_reason: string | null;
  last_seq: number;
  message_count: number;
  used_bytes: number;
  dropped_count: number;
  created_at: Date;
  imap_host: string | null;
  imap_port: number | null;
  imap_tls_mode: TlsMode | null;
  imap_username: string | null;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_tls_mode: TlsMode | null;
  smtp_username: string | null;
  bounce_imap_host: string | null;
  bounce_imap_port: number | null;
  bounce_imap_tls_mode: TlsMode | null;
  bounce_imap_username: string | null;
  bounce_imap_folder: string | null;
  bounce_verp_domain: string | null;
  bounce_last_poll_at: Date | null;
  bounce_last_poll_result: Record<string, unknown> | null;
}

const bounceInbox = (r: MailboxRow): BounceInbox | null => {
  const a = account(r.bounce_imap_host, r.bounce_imap_port, r.bounce_imap_tls_mode, r.bounce_imap_username);
  return (
    a && {
      ...a,
      folder: r.bounce_imap_folder ?? 'INBOX',
      verpDomain: r.bounce_verp_domain ?? r.address.slice(r.address.lastIndexOf('@') + 1),
      lastPollAt: r.bounce_last_poll_at,
      lastPollResult: r.bounce_last_poll_result,
    }
  );
};

const account = (
  host: string | null,
  port: number | null,
  tls: TlsMode | null,
  username: string | null,
): AccountSettings | null =>
  host !== null && port !== null && tls !== null && username !== null ? { host, port, tls, username } : null;

export const toMailbox = (r: MailboxRow): Mailbox => ({
  id: r.id,
  address: r.address,
  kind: r.kind,
  ownerUserId: r.owner_user_id,
  planId: r.plan_id,
  isActive: r.is_active,
  expiresAt: r.expires_at,
  deactivatedAt: r.deactivated_at,
  deactivatedReason: r.deactivated_reason,
  lastSeq: r.last_seq,
  messageCount: r.message_count,
  usedBytes: r.used_bytes,
  droppedCount: r.dropped_count,
  createdAt: r.created_at,
  imap: account(r.imap_host, r.imap_port, r.imap_tls_mode, r.imap_username),
  smtp: account(r.smtp_host, r.smtp_port, r.smtp_tls_mode, r.smtp_username),
  bounceImap: bounceInbox(r),
});

/** The columns toMailbox reads, named (a prepared `select *` would break when a migration adds one). */
export const MAILBOX_COLUMNS =
  'id, address, kind, owner_user_id, plan_id, is_active, expires_at, deactivated_at, deactivated_reason, last_seq, message_count, used_bytes, dropped_count, created_at, ' +
  'imap_host, imap_port, imap_tls_mode, imap_username, smtp_host, smtp_port, smtp_tls_mode, smtp_username, ' +
  'bounce_imap_host, bounce_imap_port, bounce_imap_tls_mode, bounce_imap_username, bounce_imap_folder, bounce_verp_domain, ' +
  'bounce_last_poll_at, bounce_last_poll_result';
// the lookups every authenticated request and stream connect makes: prepared, no query builder per call.
// By address: hosted mailboxes only (the SMTP pipeline and its cache use it; a connected mailbox never receives
// hosted mail, and its address is unique per owner only: store/connected-mailboxes.ts finds it by owner)
const BY_ADDRESS = `select ${MAILBOX_COLUMNS} from mailboxes where lower(address) = $1 and kind = 'hosted' limit 1`;
const CONNECTED_BY_OWNER = `select ${MAILBOX_COLUMNS} from mailboxes where owner_user_id = $1 and lower(address) = $2 and kind = 'connected' limit 1`;
const BY_ID = `select ${MAILBOX_COLUMNS} from mailboxes where id = $1 limit 1`;

export interface NewMailbox {
  address: string;
  ownerUserId: string | null;
  planId: string;
  ttlMs: number;
}

export interface MailboxStore {
  create(m: NewMailbox): Promise<Mailbox>;
  findByAddress(address: string): Promise<Mailbox | undefined>;
  findById(id: string): Promise<Mailbox | undefined>;
  /** a connected mailbox of this owner (unique per owner: another tenant may connect the same address) */
  findConnected(ownerUserId: string, address: string): Promise<Mailbox | undefined>;
  listByOwner(userId: string, opts: { limit: number; includeInactive: boolean }): Promise<Mailbox[]>;
  countActiveByOwner(userId: string): Promise<number>;
  deactivate(id: string, reason: 'expired' | 'deleted'): Promise<boolean>;
  release(id: string, sizeBytes: number): Promise<void>;
  recordDrop(id: string): Promise<void>;
}

/** mailboxEnded's expiry half as a where clause: no expires_at (the mailbox does not expire), or one still ahead. */
const liveExpiry = (db: Db) => (w: Knex.QueryBuilder) =>
  void w.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now());

export function mailboxStore(db: Db): MailboxStore {
  return {
    async create(m) {
      const [row] = await db('mailboxes')
        .insert({
          address: normalizeAddress(m.address),
          owner_user_id: m.ownerUserId,
          plan_id: m.planId,
          expires_at: db.raw(`now() + (? * interval '1 millisecond')`, [m.ttlMs]),
        })
        .returning('*');
      return toMailbox(row as MailboxRow);
    },
    async findByAddress(address) {
      // PostgreSQL text cannot hold NUL (the query would fail): no mailbox has such an address
      if (address.includes('\u0000')) return undefined;
      const [row] = await preparedQuery<MailboxRow>(db, 'mw_hosted_mailbox_by_address', BY_ADDRESS, [
        normalizeAddress(address),
      ]);
      return row ? toMailbox(row) : undefined;
    },
    async findById(id) {
      const [row] = await preparedQuery<MailboxRow>(db, 'mw_mailbox_by_id', BY_ID, [id]);
      return row ? toMailbox(row) : undefined;
    },
    async findConnected(ownerUserId, address) {
      if (address.includes('\u0000')) return undefined;
      const [row] = await preparedQuery<MailboxRow>(db, 'mw_connected_mailbox_by_owner', CONNECTED_BY_OWNER, [
        ownerUserId,
        normalizeAddress(address),
      ]);
      return row ? toMailbox(row) : undefined;
    },
    async listByOwner(userId, { limit, includeInactive }) {
      const q = db('mailboxes')
        .select(MAILBOX_COLUMNS.split(', '))
        .where({ owner_user_id: userId })
        .orderBy('created_at', 'desc')
        .limit(limit);
      // live as mailboxEnded says: active, and its expires_at (if any) still ahead; a connected mailbox never expires
      if (!includeInactive) q.andWhere('is_active', true).andWhere(liveExpiry(db));
      return (await q).map((r) => toMailbox(r as MailboxRow));
    },
    async countActiveByOwner(userId) {
      // hosted mailboxes: the plan's max_active_mailboxes (connected ones have their own limit)
      const [row] = await db('mailboxes')
        .where({ owner_user_id: userId, is_active: true, kind: 'hosted' })
        .andWhere(liveExpiry(db))
        .count<{ n: string }[]>({ n: '*' });
      return Number(row?.n ?? 0);
    },
    async deactivate(id, reason) {
      const n = await db('mailboxes')
        .where({ id, is_active: true })
        .update({ is_active: false, deactivated_at: db.fn.now(), deactivated_reason: reason });
      return n === 1;
    },
    async release(id, sizeBytes) {
      await db('mailboxes')
        .where({ id })
        .update({
          message_count: db.raw('greatest(message_count - 1, 0)'),
          used_bytes: db.raw('greatest(used_bytes - ?, 0)', [sizeBytes]),
        });
    },
    async recordDrop(id) {
      await db('mailboxes').where({ id }).increment('dropped_count', 1);
    },
  };
}
