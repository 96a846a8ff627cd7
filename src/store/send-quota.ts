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

const scopeKey = (s: QuotaScope) => `${s.kind}:${s.id}`;

/**
 * Add a request's `counted` recipients to each scope's rolling 24 h quota, all or nothing, race-free. Call it inside
 * the caller's transaction as its last statement before the commit: one advisory transaction lock per scope (taken
 * in a fixed order, so two requests never wait on each other crosswise) makes concurrent requests of one owner add
 * and sum one after the other. The quota is a counter (`send_quota_buckets`: recipients accepted per scope and
 * minute), so a check costs the same however many sends the window holds: the request's count is added to the
 * current minute, the last 1,440 minutes are summed, the scope's minutes older than a day are deleted. Over the
 * limit: the caller throws, its transaction rolls back (the addition with it), nothing is kept. Suppressed
 * recipients are not counted; a recipient suppressed after acceptance stays counted. The window moves by the
 * minute: a send leaves it between 24 h and 24 h + 1 min after it was accepted.
 */
export async function reserveSendQuota(trx: Db, scopes: QuotaScope[], counted: number): Promise<QuotaAnswer> {
  const limited = scopes.filter((s) => s.limit !== null).sort((a, b) => scopeKey(a).localeCompare(scopeKey(b)));
  for (const s of limited) {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`outbound-quota:${scopeKey(s)}`]);
  }
  for (const s of limited) {
    const limit = s.limit as number;
    const { rows } = await trx.raw<{ rows: Array<{ used: string }> }>(
      `with gone as (
         delete from send_quota_buckets where scope = :scope and bucket <= now() - interval '24 hours 1 minute'
       ), added as (
         insert into send_quota_buckets (scope, bucket, n) values (:scope, date_trunc('minute', now()), :counted)
         on conflict (scope, bucket) do update set n = send_quota_buckets.n + excluded.n
         returning n
       )
       select coalesce((select sum(n) from send_quota_buckets
                         where scope = :scope and bucket > now() - interval '24 hours 1 minute'
                           and bucket < date_trunc('minute', now())), 0)
              + (select n from added) as used`,
      { scope: scopeKey(s), counted },
    );
    const used = Number(rows[0]?.used ?? 0); // this request's recipients included
    if (used <= limit) continue;
    return { ok: false, scope: s.kind, retryAfterS: await retryAfter(trx, s, used - limit) };
  }
  return { ok: true };
}

/** Seconds until the `over` oldest counted sends leave the window (a request larger than the limit: a day). */
async function retryAfter(trx: Db, s: QuotaScope, over: number): Promise<number> {
  if (over > (s.limit as number)) return DAY_MS / 1000;
  const { rows } = await trx.raw<{ rows: Array<{ s: string | null }> }>(
    `select extract(epoch from bucket + interval '24 hours 1 minute' - now()) as s
       from (select bucket, sum(n) over (order by bucket) as running
               from send_quota_buckets
              where scope = ? and bucket > now() - interval '24 hours 1 minute') b
      where running >= ?
      order by bucket
      limit 1`,
    [scopeKey(s), over],
  );
  return Math.max(1, Math.ceil(Number(rows[0]?.s ?? DAY_MS / 1000)));
}

/** An agent token's own daily cap (agent_tokens.max_sends_per_day), null when it has none. */
export async function tokenSendLimit(db: Db, jti: string): Promise<number | null> {
  const row = await db('agent_tokens').where({ jti }).first('max_sends_per_day');
  return (row?.max_sends_per_day as number | null | undefined) ?? null;
}
