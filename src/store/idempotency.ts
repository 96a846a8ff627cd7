import type { Db } from './db.js';

/** How long an accepted request's answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export type IdempotencyClaim =
  | { kind: 'new'; id: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/**
 * Claim (credential, key) for a request with this hash (store/idempotency keeps the record, the caller owns the
 * request). The `in_progress` record is committed at once, so a parallel request with the same key sees it (409)
 * instead of waiting on a lock. A record older than 24 h is gone (deleted and claimed anew); one left
 * `in_progress` for longer than `staleMs` (its request died) is taken over.
 */
export async function claimIdempotencyKey(
  db: Db,
  k: { credentialId: string; key: string; requestHash: string; staleMs: number },
): Promise<IdempotencyClaim> {
  for (let round = 0; round < 3; round++) {
    const [inserted] = await db('idempotency_keys')
      .insert({ credential_id: k.credentialId, idempotency_key: k.key, request_hash: k.requestHash })
      .onConflict(['credential_id', 'idempotency_key'])
      .ignore()
      .returning('id');
    if (inserted) return { kind: 'new', id: String(inserted.id) };
    const row = await db('idempotency_keys')
      .where({ credential_id: k.credentialId, idempotency_key: k.key })
      .first(
        'id',
        'request_hash',
        'state',
        'response_status',
        'response_body',
        db.raw('extract(epoch from now() - created_at) * 1000 as age_ms'),
      );
    if (!row) continue; // deleted meanwhile: claim again
    const age = Number(row.age_ms);
    if (age >= IDEMPOTENCY_TTL_MS || (row.state === 'in_progress' && age >= k.staleMs)) {
      await db('idempotency_keys').where({ id: row.id }).delete();
      continue;
    }
    if (row.request_hash !== k.requestHash) return { kind: 'mismatch' };
    if (row.state === 'in_progress') return { kind: 'in_progress' };
    return { kind: 'replay', status: row.response_status, body: row.response_body };
  }
  return { kind: 'in_progress' };
}

/** Record the answer of a claimed key (in the transaction of the request's writes). */
export async function completeIdempotencyKey(
  trx: Db,
  id: string,
  answer: { status: number; body: unknown; messageIds: string[] },
): Promise<void> {
  await trx('idempotency_keys')
    .where({ id })
    .update({
      state: 'completed',
      response_status: answer.status,
      response_body: JSON.stringify(answer.body),
      message_ids: JSON.stringify(answer.messageIds),
      completed_at: trx.fn.now(),
    });
}

/** An error answer leaves no record: the key may be used again. */
export async function releaseIdempotencyKey(db: Db, id: string): Promise<void> {
  await db('idempotency_keys').where({ id, state: 'in_progress' }).delete();
}

/** Remove records older than 24 h (the outbound sweeper calls this); returns how many. */
export async function pruneIdempotencyKeys(db: Db, limit = 10_000): Promise<number> {
  return db('idempotency_keys')
    .whereIn(
      'id',
      db('idempotency_keys')
        .where('created_at', '<', db.raw(`now() - interval '${IDEMPOTENCY_TTL_MS} milliseconds'`))
        .limit(limit)
        .select('id'),
    )
    .delete();
}
