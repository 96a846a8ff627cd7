import type { Db } from './db.js';
import { parsedRow, type ParsedFields } from './message-row.js';

/** Which stored parse failures to look at (messages:reparse). */
export interface ParseFailureQuery {
  mailboxId?: string;
  /** received at or after */
  since?: Date;
  /** ids after this one (paging: ids are ULIDs, in the order they were stored) */
  afterId?: string;
  limit: number;
}

/** Messages stored with a parse error, oldest first, with their raw bytes. */
export async function findParseFailures(db: Db, q: ParseFailureQuery) {
  const query = db('messages').whereNotNull('parse_error').orderBy('id').limit(q.limit);
  if (q.mailboxId) query.andWhere('mailbox_id', q.mailboxId);
  if (q.since) query.andWhere('received_at', '>=', q.since);
  if (q.afterId) query.andWhere('id', '>', q.afterId);
  const rows: Array<{ id: string; mailbox_id: string; raw: Buffer; parse_error: string }> = await query.select(
    'id',
    'mailbox_id',
    'raw',
    'parse_error',
  );
  return rows.map((r) => ({ id: r.id, mailboxId: r.mailbox_id, raw: r.raw, parseError: r.parse_error }));
}

/**
 * Replace a stored parse failure's parsed columns with a new parse's. Only while it is still a parse failure
 * (another run may have got there first): true if this one did.
 */
export async function replaceParsed(db: Db, mailboxId: string, id: string, parsed: ParsedFields): Promise<boolean> {
  const n = await db('messages')
    .where({ mailbox_id: mailboxId, id })
    .whereNotNull('parse_error')
    .update(parsedRow(parsed));
  return n === 1;
}
