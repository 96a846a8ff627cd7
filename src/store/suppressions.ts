import type { Db } from './db.js';
import { BEFORE_SQL } from './outbound.js';

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'manual';

export interface Suppression {
  recipient: string;
  reason: SuppressionReason;
  sourceMessageId: string | null;
  notes: string | null;
  createdAt: Date;
  /** created_at in microseconds since the epoch (exact, for the page cursor) */
  createdMicros: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toSuppression = (r: any): Suppression => ({
  recipient: r.recipient_email,
  reason: r.reason,
  sourceMessageId: r.source_message_id,
  notes: r.notes,
  createdAt: r.created_at,
  createdMicros: r.created_us,
});

const columns = (db: Db) => [
  'recipient_email',
  'reason',
  'source_message_id',
  'notes',
  'created_at',
  db.raw('(extract(epoch from created_at) * 1000000)::bigint::text as created_us'),
];

/** A page of a mailbox's suppressions: newest first, then by recipient; the cursor is the last item's. */
export interface SuppressionPage {
  limit: number;
  recipient?: string;
  before?: { micros: string; key: string };
}

export async function listSuppressions(db: Db, mailboxId: string, page: SuppressionPage): Promise<Suppression[]> {
  const q = db('suppressions').where({ mailbox_id: mailboxId });
  if (page.recipient !== undefined) q.andWhere('recipient_email', page.recipient);
  if (page.before) q.andWhereRaw(BEFORE_SQL, ['recipient_email', page.before.micros, page.before.key]);
  const rows = await q
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'recipient_email', order: 'desc' },
    ])
    .limit(page.limit)
    .select(columns(db));
  return rows.map(toSuppression);
}

/**
 * Add a suppression, or find the one already there (recipient compared case-insensitively: citext):
 * `created` tells which. A concurrent insert of the same recipient ends in the same row.
 */
export async function addSuppression(
  db: Db,
  s: {
    mailboxId: string;
    recipient: string;
    reason: SuppressionReason;
    notes?: string | null;
    sourceMessageId?: string | null;
  },
): Promise<{ suppression: Suppression; created: boolean }> {
  const inserted = await db('suppressions')
    .insert({
      mailbox_id: s.mailboxId,
      recipient_email: s.recipient,
      reason: s.reason,
      notes: s.notes ?? null,
      source_message_id: s.sourceMessageId ?? null,
    })
    .onConflict(['mailbox_id', 'recipient_email'])
    .ignore()
    .returning('id');
  const row = await db('suppressions')
    .where({ mailbox_id: s.mailboxId, recipient_email: s.recipient })
    .first(columns(db));
  return { suppression: toSuppression(row), created: inserted.length > 0 };
}

/** Remove a suppression: false when there was none. */
export async function removeSuppression(db: Db, mailboxId: string, recipient: string): Promise<boolean> {
  return (await db('suppressions').where({ mailbox_id: mailboxId, recipient_email: recipient }).delete()) > 0;
}

/** Which of these recipients the mailbox suppresses, as the lower-cased addresses (citext comparison). */
export async function suppressedAmong(db: Db, mailboxId: string, recipients: string[]): Promise<Set<string>> {
  if (recipients.length === 0) return new Set();
  const rows = await db('suppressions')
    .where({ mailbox_id: mailboxId })
    .whereRaw('recipient_email = any(?::citext[])', [recipients])
    .select('recipient_email');
  return new Set(rows.map((r) => String(r.recipient_email).toLowerCase()));
}
