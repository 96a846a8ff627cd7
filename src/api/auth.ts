import type { Context, Middleware } from 'koa';
import { Forbidden, MailboxGone, NotFound, Unauthorized } from '../core/errors.js';
import { apiKeyMatches, apiKeyPrefix, API_KEY_PATTERN } from '../access/api-keys.js';
import { looksLikeJwt, type TokenSigner } from '../access/tokens.js';
import type { Stores } from '../store/index.js';
import type { Mailbox } from '../store/mailboxes.js';
import type { Permission } from '../store/tokens.js';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; planId: string; apiKeyId: string }
  | { kind: 'token'; jti: string; mailboxId: string; permissions: Permission[]; userId: string | null; expiresAt: Date };

export interface AuthDeps { stores: Stores; signer: TokenSigner }

/** Streams may pass `?token=` (EventSource and browser WebSocket cannot set headers); nothing else may. */
const QUERY_TOKEN_PATHS = /\/(events|ws)$/;

export function bearerOf(ctx: Pick<Context, 'get' | 'path' | 'query'>): string | undefined {
  const header = ctx.get('authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new Unauthorized('Authorization must be "Bearer <api key or mailbox token>"');
    return m[1];
  }
  const q = ctx.query.token;
  if (typeof q === 'string' && q && QUERY_TOKEN_PATHS.test(ctx.path)) return q;
  return undefined;
}

/** Resolve a credential to a principal; an invalid, revoked or expired credential is a 401. */
export async function authenticate(credential: string | undefined, { stores, signer }: AuthDeps): Promise<Principal> {
  if (credential === undefined) return { kind: 'anonymous' };
  if (API_KEY_PATTERN.test(credential)) {
    const record = await stores.apiKeys.findByPrefix(apiKeyPrefix(credential));
    if (!record || record.revokedAt || !apiKeyMatches(credential, record.salt, record.keyHash)) throw new Unauthorized('invalid or revoked API key');
    const user = await stores.users.findById(record.userId);
    if (!user) throw new Unauthorized('invalid or revoked API key');
    void stores.apiKeys.touch(record.id).catch(() => undefined);
    return { kind: 'user', userId: user.id, planId: user.planId, apiKeyId: record.id };
  }
  if (looksLikeJwt(credential)) {
    const claims = await signer.verify(credential);
    const row = claims && (await stores.tokens.findByJti(claims.jti));
    if (!claims || !row || row.mailboxId !== claims.mailboxId) throw new Unauthorized('invalid token');
    if (row.isRevoked) throw new Unauthorized('token has been revoked');
    if (row.expiresAt.getTime() <= Date.now()) {
      // a token that lived as long as its mailbox: say that the mailbox ended (410), not just "expired token"
      const m = await stores.mailboxes.findById(row.mailboxId);
      if (m && !m.isActive && m.deactivatedReason === 'deleted') throw new MailboxGone('mailbox_deleted', 'mailbox has been deleted');
      if (m && (!m.isActive || (m.expiresAt && m.expiresAt.getTime() <= Date.now()))) throw new MailboxGone('mailbox_expired', 'mailbox has expired');
      throw new Unauthorized('token has expired');
    }
    return { kind: 'token', jti: row.jti, mailboxId: row.mailboxId, permissions: row.permissions, userId: row.userId, expiresAt: row.expiresAt };
  }
  throw new Unauthorized('unrecognised credential');
}

export const authentication = (deps: AuthDeps): Middleware => async (ctx, next) => {
  ctx.state.principal = await authenticate(bearerOf(ctx), deps);
  if (ctx.state.principal.kind === 'token') void deps.stores.tokens.touch(ctx.state.principal.jti).catch(() => undefined);
  await next();
};

export const principalOf = (ctx: Context): Principal => ctx.state.principal;

/** Can this principal see this mailbox at all? (object-level authorization) */
export function canSee(p: Principal, m: Mailbox): boolean {
  if (p.kind === 'user') return m.ownerUserId === p.userId;
  if (p.kind === 'token') return m.id === p.mailboxId;
  return false;
}

/**
 * Load a mailbox for the caller. A mailbox they may not see is a 404 exactly like one that does not
 * exist; one they may see but that has ended is a 410; a token without the permission is a 403.
 */
export async function mailboxFor(ctx: Context, stores: Stores, address: string, permission: Permission, opts: { allowInactive?: boolean } = {}): Promise<Mailbox> {
  const p = principalOf(ctx);
  const m = await stores.mailboxes.findByAddress(address);
  if (!m || !canSee(p, m)) throw new NotFound('mailbox not found', 'mailbox_not_found');
  if (p.kind === 'token' && !p.permissions.includes(permission)) {
    throw new Forbidden(`this token lacks the "${permission}" permission`, 'insufficient_permission');
  }
  if (!opts.allowInactive) {
    if (!m.isActive && m.deactivatedReason === 'deleted') throw new MailboxGone('mailbox_deleted', 'mailbox has been deleted');
    if (!m.isActive || (m.expiresAt && m.expiresAt.getTime() <= Date.now())) throw new MailboxGone('mailbox_expired', 'mailbox has expired');
  }
  return m;
}
