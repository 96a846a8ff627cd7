import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Principal } from '../access/principal.js';
import { AppError, BadRequest } from '../core/errors.js';
import type { Db } from '../store/db.js';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../store/idempotency.js';

const KEY = /^[\x20-\x7e]{1,255}$/;

/** Another request (body or path) under a key already used: 422. */
class IdempotencyKeyReused extends AppError {
  readonly code = 'idempotency_key_reused';
  override readonly status = 422;
}

/** The first request with this key has not answered yet: 409, try again shortly. */
class IdempotencyKeyInProgress extends AppError {
  readonly code = 'idempotency_key_in_progress';
  override readonly status = 409;
  override readonly retryable = true;
  override readonly headers = { 'Retry-After': '1' };
}

/** JSON with object keys sorted at every depth: two bodies that differ only in key order hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * `Idempotency-Key` for a POST that creates: the key (1–255 printable ASCII, else 400 invalid_idempotency_key) is
 * scoped to the credential (a token's jti or an API key's id). Within 24 h of an accepted request, the same method,
 * path and canonical JSON body replays its status and body with `Idempotent-Replayed: true`; another body or path
 * is 422 idempotency_key_reused; the first still running is 409 idempotency_key_in_progress. An error answer
 * leaves no record. Without the header `run` simply runs (with no transaction hook).
 */
export async function withIdempotency<T>(
  ctx: Context,
  deps: { db: Db; staleMs: number },
  request: { principal: Principal; body: unknown; status: number },
  run: (inTransaction?: (trx: Db, answer: T) => Promise<void>) => Promise<T>,
): Promise<void> {
  const key = ctx.get('idempotency-key');
  const p = request.principal;
  if (!key || p.kind === 'anonymous') {
    ctx.body = await run();
    ctx.status = request.status;
    return;
  }
  if (!KEY.test(key))
    throw new BadRequest('Idempotency-Key must be 1 to 255 printable ASCII characters', 'invalid_idempotency_key');
  const credentialId = p.kind === 'token' ? `token:${p.jti}` : `key:${p.apiKeyId}`;
  const requestHash = createHash('sha256')
    .update(`${ctx.method}\n${ctx.path}\n${canonicalJson(request.body)}`)
    .digest('hex');
  const claim = await claimIdempotencyKey(deps.db, { credentialId, key, requestHash, staleMs: deps.staleMs });
  switch (claim.kind) {
    case 'mismatch':
      throw new IdempotencyKeyReused('this Idempotency-Key was used for another request (path or body)');
    case 'in_progress':
      throw new IdempotencyKeyInProgress('a request with this Idempotency-Key is still being processed');
    case 'replay':
      ctx.status = claim.status;
      ctx.body = claim.body;
      ctx.set('Idempotent-Replayed', 'true');
      return;
    case 'new':
      break;
  }
  try {
    ctx.body = await run(async (trx, body) => {
      const ids = (body as { messages?: Array<{ id: string }> }).messages?.map((m) => m.id) ?? [];
      await completeIdempotencyKey(trx, claim.id, { status: request.status, body, messageIds: ids });
    });
    ctx.status = request.status;
  } catch (err) {
    await releaseIdempotencyKey(deps.db, claim.id).catch(() => undefined);
    throw err;
  }
}
