import { toIso } from '../core/time.js';
import type { Db } from './db.js';
import { deliveriesToEnqueue, recordEvents } from './events.js';

/**
 * The SQL of the mailbox lifecycle: expiry (one mailbox, or all overdue ones in one statement),
 * TTL changes and the deferred purge. Every statement is bounded by an index:
 * `mailboxes_active_expiry_idx (expires_at) where is_active` for expiry,
 * `mailboxes_inactive_idx (deactivated_at) where not is_active` for the purge,
 * `messages (mailbox_id, seq)` for deleting a mailbox's messages.
 */
export interface LifecycleStore {
  /**
   * Deactivate one mailbox if it is active and past expires_at, with its `mailbox.expired` event (and webhook
   * delivery) in the same transaction; its expires_at and the deliveries to enqueue when this call did it.
   */
  expireOne(id: string): Promise<{ expiresAt: Date; webhookDeliveries: string[] } | undefined>;
  /** Deactivate every active mailbox past expires_at in one UPDATE; returns only their ids. */
  sweepExpired(): Promise<string[]>;
  /** sweepExpired, with each mailbox's `mailbox.expired` event in the same transaction, and the deliveries to enqueue. */
  sweepExpiredWithEvents(): Promise<{ ids: string[]; webhookDeliveries: string[] }>;
  /** Current expiry state (for the expiry job's re-check). */
  expiryOf(id: string): Promise<{ isActive: boolean; expiresAt: Date | null } | undefined>;
  /**
   * Set expires_at = created_at + ttlMs on an active mailbox (row locked), and move the expiry of the
   * agent tokens that were tied to the mailbox's life (expires_at equal to the old one) along with it.
   * A new expiry at or before now deactivates the mailbox at once (reason 'expired').
   */
  setTtlFromCreation(id: string, ttlMs: number): Promise<TtlChange | undefined>;
  /** Up to `limit` ids of mailboxes inactive for longer than `retentionMs`, oldest first. */
  purgeCandidates(retentionMs: number, limit: number): Promise<string[]>;
  /** Delete at most `limit` messages of these mailboxes; returns how many were deleted. */
  deleteMessagesOf(ids: string[], limit: number): Promise<number>;
  /** Delete these mailboxes if still inactive for longer than `retentionMs` (tokens cascade); returns the count. */
  deleteMailboxes(ids: string[], retentionMs: number): Promise<number>;
}

export interface TtlChange {
  expiresAt: Date;
  previousExpiresAt: Date | null;
  expiredNow: boolean;
  tokensMoved: number;
  /** expiredNow: the mailbox.expired deliveries to enqueue after commit */
  webhookDeliveries: string[];
}

const EXPIRED = { is_active: false, deactivated_reason: 'expired' };

interface ExpiredRow {
  id: string;
  address: string;
  expires_at: Date;
}

/** The one `mailbox.expired` event per mailbox (a unique key: the job and the sweep cannot both write one). */
const recordExpired = async (trx: Db, rows: ExpiredRow[]) =>
  deliveriesToEnqueue(
    await recordEvents(
      trx,
      rows.map((r) => ({
        mailboxId: r.id,
        mailboxAddress: r.address,
        type: 'mailbox.expired' as const,
        occurredAt: r.expires_at,
        data: { expires_at: toIso(r.expires_at), reason: 'expired' },
      })),
    ),
  );
const olderThan = (db: Db, ms: number) => db.raw(`now() - (? * interval '1 millisecond')`, [ms]);

export function lifecycleStore(db: Db): LifecycleStore {
  const sweepExpiredWithEvents = () =>
    db.transaction(async (trx) => {
      const rows: ExpiredRow[] = await trx('mailboxes')
        .where('is_active', true)
        .andWhere('expires_at', '<=', trx.raw('clock_timestamp()'))
        .update({ ...EXPIRED, deactivated_at: trx.raw('clock_timestamp()') })
        .returning(['id', 'address', 'expires_at']);
      const webhookDeliveries = rows.length ? await recordExpired(trx, rows) : [];
      return { ids: rows.map((r) => r.id), webhookDeliveries };
    });
  return {
    async expireOne(id) {
      return db.transaction(async (trx) => {
        const rows: ExpiredRow[] = await trx('mailboxes')
          .where({ id, is_active: true })
          .andWhere('expires_at', '<=', trx.raw('clock_timestamp()'))
          .update({ ...EXPIRED, deactivated_at: trx.raw('clock_timestamp()') })
          .returning(['id', 'address', 'expires_at']);
        if (rows.length !== 1) return undefined;
        return { expiresAt: rows[0]!.expires_at, webhookDeliveries: await recordExpired(trx, rows) };
      });
    },
    async sweepExpired() {
      return (await sweepExpiredWithEvents()).ids;
    },
    sweepExpiredWithEvents,
    async expiryOf(id) {
      const row = await db('mailboxes').where({ id }).first('is_active', 'expires_at');
      return row ? { isActive: row.is_active as boolean, expiresAt: row.expires_at as Date | null } : undefined;
    },
    async setTtlFromCreation(id, ttlMs) {
      const run = async (trx: Db): Promise<TtlChange | undefined> => {
        const before = await trx('mailboxes').where({ id, is_active: true }).forUpdate().first('expires_at');
        if (!before) return undefined;
        const {
          rows: [row],
        } = await trx.raw(
          `update mailboxes set expires_at = created_at + (? * interval '1 millisecond') where id = ?
           returning expires_at, expires_at <= clock_timestamp() as elapsed`,
          [ttlMs, id],
        );
        const expiresAt = row.expires_at as Date;
        let tokensMoved = 0;
        if (before.expires_at) {
          // tokens minted "for the mailbox's life" carry its expiry (to the millisecond: JS Dates)
          tokensMoved = await trx('agent_tokens')
            .where({ mailbox_id: id })
            .andWhereRaw(`abs(extract(epoch from (expires_at - ?::timestamptz))) < 0.001`, [before.expires_at])
            .update({ expires_at: expiresAt });
        }
        const expiredNow = row.elapsed === true;
        let webhookDeliveries: string[] = [];
        if (expiredNow) {
          const ended: ExpiredRow[] = await trx('mailboxes')
            .where({ id })
            .update({ ...EXPIRED, deactivated_at: trx.raw('clock_timestamp()') })
            .returning(['id', 'address', 'expires_at']);
          webhookDeliveries = await recordExpired(trx, ended);
        }
        return { expiresAt, previousExpiresAt: before.expires_at ?? null, expiredNow, tokensMoved, webhookDeliveries };
      };
      return db.transaction(run);
    },
    async purgeCandidates(retentionMs, limit) {
      const rows: { id: string }[] = await db('mailboxes')
        .where('is_active', false)
        .andWhere('deactivated_at', '<', olderThan(db, retentionMs))
        .orderBy('deactivated_at', 'asc')
        .limit(limit)
        .select('id');
      return rows.map((r) => r.id);
    },
    async deleteMessagesOf(ids, limit) {
      if (!ids.length) return 0;
      return db('messages').whereIn('id', db('messages').select('id').whereIn('mailbox_id', ids).limit(limit)).delete();
    },
    async deleteMailboxes(ids, retentionMs) {
      if (!ids.length) return 0;
      return db('mailboxes')
        .whereIn('id', ids)
        .andWhere('is_active', false)
        .andWhere('deactivated_at', '<', olderThan(db, retentionMs))
        .delete();
    },
  };
}
