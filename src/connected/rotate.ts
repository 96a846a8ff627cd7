import type { Knex } from 'knex';
import { needsRotation, reseal, type KeyRing } from '../core/secret-box.js';

/** Every column holding a sealed credential, each sealed with AAD `mailboxes.<column>:<row id>`. */
export const CREDENTIAL_COLUMNS = [
  'imap_password_encrypted',
  'smtp_password_encrypted',
  'bounce_imap_password_encrypted',
] as const;

/** Rows read and written per batch by credentials:rotate (one short query each, no long transaction). */
export const ROTATE_BATCH_SIZE = 500;

export interface RotationCounts {
  scanned: number;
  rotated: number;
  already_current: number;
  failed: number;
}

/**
 * Re-encrypt every stored credential sealed under the ring's previous key with its current one, column by
 * column, in batches by id. Each write is a compare-and-set on the old ciphertext, so a value changed meanwhile
 * (a PATCH) is never overwritten, and running it again rotates nothing. A value no key of the ring opens (or
 * malformed) counts as failed and stays as it is.
 */
export async function rotateCredentials(
  db: Knex,
  ring: KeyRing,
  batchSize = ROTATE_BATCH_SIZE,
): Promise<RotationCounts> {
  const counts: RotationCounts = { scanned: 0, rotated: 0, already_current: 0, failed: 0 };
  for (const column of CREDENTIAL_COLUMNS) {
    let after: string | null = null;
    for (;;) {
      const q = db('mailboxes').whereNotNull(column).orderBy('id').limit(batchSize);
      if (after !== null) void q.where('id', '>', after);
      const rows: { id: string; sealed: Buffer }[] = await q.select('id', { sealed: column });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      for (const { id, sealed } of rows) {
        counts.scanned += 1;
        const outcome = await rotateOne(db, ring, column, id, sealed);
        counts[outcome] += 1;
      }
      if (rows.length < batchSize) break;
    }
  }
  return counts;
}

async function rotateOne(
  db: Knex,
  ring: KeyRing,
  column: (typeof CREDENTIAL_COLUMNS)[number],
  id: string,
  sealed: Buffer,
): Promise<'rotated' | 'already_current' | 'failed'> {
  let next: Buffer;
  try {
    if (!needsRotation(ring, sealed)) return 'already_current';
    next = reseal(ring, sealed, `mailboxes.${column}:${id}`);
  } catch {
    return 'failed';
  }
  const n = await db('mailboxes')
    .where({ id })
    .where(column, sealed)
    .update({ [column]: next });
  if (n === 1) return 'rotated';
  // changed (or forgotten) meanwhile: whatever is there now was written by someone else
  const now = await db('mailboxes').where({ id }).first<Record<string, Buffer | null> | undefined>(column);
  const value = now?.[column] ?? null;
  try {
    return value === null || !needsRotation(ring, value) ? 'already_current' : 'failed';
  } catch {
    return 'failed';
  }
}
