import type { Db } from './db.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whose rolling 24 h quota a send counts against, and its limit (null: unlimited). */
export interface QuotaScope {
  /** `owner` counts by owner_user_id, `mailbox` an ownerless mailbox's sends, `token` by token_jti */
  kind: 'owner' | 'mailbox' | 'token';
  id: string;
  limit: number | null;
}

export type QuotaAnswer = { ok: true } | { ok: false; scope: QuotaScope['kind']; retryAfterS: number };

const COUNTED: Record<QuotaScope['kind'], string> = {
  owner: 'owner_user_id = ?',
  mailbox: 'mailbox_id = ? and owner_user_id is null',
  token: 'token_jti = ?',
};

/**
 * Check the sends a request has just written against each scope's quota, all or nothing, race-free. Call it inside
 * the caller's transaction AFTER inserting the request's `outbound_messages` rows (they count, being visible to
 * their own transaction), as its last statement before the commit: one advisory transaction lock per scope (taken
 * in a fixed order, so two requests never wait on each other crosswise) makes concurrent requests of one owner
 * count one after the other, and each count runs after the lock is held, so it sees every earlier request's
 * committed rows. Held for the count and the commit only, not for the request's writes. Over the limit: the caller
 * throws, its transaction rolls back, nothing is kept. Suppressed recipients are not counted.
 */
export async function reserveSendQuota(trx: Db, scopes: QuotaScope[]): Promise<QuotaAnswer> {
  const limited = scopes
    .filter((s) => s.limit !== null)
    .sort((a, b) => `${a.kind}:${a.id}`.localeCompare(`${b.kind}:${b.id}`));
  for (const s of limited) {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`outbound-quota:${s.kind}:${s.id}`]);
  }
  for (const s of limited) {
    const limit = s.limit as number;
    const [row] = await trx('outbound_messages')
      .whereRaw(COUNTED[s.kind], [s.id])
      .andWhere('created_at', '>', trx.raw(`now() - interval '24 hours'`))
      .andWhereNot('status', 'suppressed')
      .count<{ n: string }[]>({ n: '*' });
    const used = Number(row?.n ?? 0); // this request's rows included
    if (used <= limit) continue;
    return { ok: false, scope: s.kind, retryAfterS: await retryAfter(trx, s, used - limit) };
  }
  return { ok: true };
}

/** Seconds until the `over` oldest counted sends leave the window (a request larger than the limit: a day). */
async function retryAfter(trx: Db, s: QuotaScope, over: number): Promise<number> {
  if (over > (s.limit as number)) return DAY_MS / 1000;
  const [row] = await trx('outbound_messages')
    .whereRaw(COUNTED[s.kind], [s.id])
    .andWhere('created_at', '>', trx.raw(`now() - interval '24 hours'`))
    .andWhereNot('status', 'suppressed')
    .orderBy('created_at', 'asc')
    .offset(over - 1)
    .limit(1)
    .select(trx.raw(`extract(epoch from created_at + interval '24 hours' - now()) as s`));
  return Math.max(1, Math.ceil(Number(row?.s ?? DAY_MS / 1000)));
}

/** An agent token's own daily cap (agent_tokens.max_sends_per_day), null when it has none. */
export async function tokenSendLimit(db: Db, jti: string): Promise<number | null> {
  const row = await db('agent_tokens').where({ jti }).first('max_sends_per_day');
  return (row?.max_sends_per_day as number | null | undefined) ?? null;
}
