import { apiKeyMatches, apiKeyPrefix, API_KEY_PATTERN } from '../core/api-keys.js';
import { Forbidden, MailboxGone, NotFound, Unauthorized } from '../core/errors.js';
import type { Stores } from '../store/index.js';
import { mailboxEnded, type Mailbox, type MailboxEnd } from '../store/mailboxes.js';
import type { Permission } from '../store/tokens.js';
import { looksLikeJwt, type TokenSigner } from './tokens.js';

/**
 * The access layer: who is calling, and which mailbox they may touch. It knows no HTTP framework: the Koa
 * middleware (src/api/auth.ts), the raw SSE and WebSocket handlers (src/stream/access.ts) and every later edge
 * hand it a {@link CredentialRequest} and a {@link Principal}, and translate the errors it throws
 * (core/errors.ts: 401 Unauthorized, 403 Forbidden, 404 NotFound, 410 MailboxGone) with core/error-body.ts.
 *
 * A request goes: `authenticate(bearerOf(req), deps)` once, then `mailboxFor(principal, stores, address, permission)`
 * for each mailbox it names.
 */

/** Who is calling: nobody, a user through one of their API keys, or a mailbox token. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; planId: string; apiKeyId: string }
  | {
      kind: 'token';
      jti: string;
      mailboxId: string;
      permissions: Permission[];
      userId: string | null;
      expiresAt: Date;
    };

export interface AuthDeps {
  stores: Stores;
  signer: TokenSigner;
}

/** What the credential is read from: a Koa context fits it, and so does a raw Node request's parts. */
export interface CredentialRequest {
  /** a request header by name (any case); '' when absent */
  get(name: string): string;
  path: string;
  query: Record<string, unknown>;
}

/** Streams may pass `?token=` (EventSource and browser WebSocket cannot set headers); nothing else may. */
const QUERY_TOKEN_PATHS = /\/(events|ws)$/;

/**
 * The bearer credential of a request: `Authorization: Bearer <api key or mailbox token>`, or `?token=` on a
 * stream path. Undefined when there is none (an anonymous caller); a malformed Authorization header is a 401.
 */
export function bearerOf(req: CredentialRequest): string | undefined {
  const header = req.get('authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new Unauthorized('Authorization must be "Bearer <api key or mailbox token>"');
    return m[1];
  }
  const q = req.query.token;
  if (typeof q === 'string' && q && QUERY_TOKEN_PATHS.test(req.path)) return q;
  return undefined;
}

/** The 410 of a mailbox that has ended, as every edge reports it. */
export const mailboxGone = (ended: MailboxEnd): MailboxGone =>
  ended === 'deleted'
    ? new MailboxGone('mailbox_deleted', 'mailbox has been deleted')
    : new MailboxGone('mailbox_expired', 'mailbox has expired');

/**
 * Resolve a credential to a principal; no credential is the anonymous principal. An invalid, revoked or expired
 * credential is a 401, except a mailbox token that expired because its mailbox ended: that is the mailbox's 410.
 */
export async function authenticate(credential: string | undefined, { stores, signer }: AuthDeps): Promise<Principal> {
  if (credential === undefined) return { kind: 'anonymous' };
  if (API_KEY_PATTERN.test(credential)) {
    const record = await stores.apiKeys.findByPrefix(apiKeyPrefix(credential));
    if (!record || record.revokedAt || !apiKeyMatches(credential, record.salt, record.keyHash))
      throw new Unauthorized('invalid or revoked API key');
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
      const ended = m && mailboxEnded(m);
      if (ended) throw mailboxGone(ended);
      throw new Unauthorized('token has expired');
    }
    return {
      kind: 'token',
      jti: row.jti,
      mailboxId: row.mailboxId,
      permissions: row.permissions,
      userId: row.userId,
      expiresAt: row.expiresAt,
    };
  }
  throw new Unauthorized('unrecognised credential');
}

/** Can this principal see this mailbox at all? (object-level authorization: its owner, or a token for it) */
export function canSee(p: Principal, m: Mailbox): boolean {
  if (p.kind === 'user') return m.ownerUserId === p.userId;
  if (p.kind === 'token') return m.id === p.mailboxId;
  return false;
}

/** A token without `permission` is a 403 insufficient_permission; an API key (the owner) holds every permission. */
export function checkPermission(principal: Principal, permission: Permission): void {
  if (principal.kind === 'token' && !principal.permissions.includes(permission)) {
    throw new Forbidden(`this token lacks the "${permission}" permission`, 'insufficient_permission');
  }
}

/**
 * The caller's connected mailbox at this address, ended or not, else undefined: an API key's user's own (the
 * address is unique per owner), or the one a mailbox token was minted for (the same address, in any case). Another
 * tenant's connected mailbox at the same address is never found.
 */
export async function connectedMailboxOf(
  principal: Principal,
  stores: Pick<Stores, 'mailboxes'>,
  address: string,
): Promise<Mailbox | undefined> {
  if (principal.kind === 'user') return stores.mailboxes.findConnected(principal.userId, address);
  if (principal.kind !== 'token') return undefined;
  const m = await stores.mailboxes.findById(principal.mailboxId);
  return m?.kind === 'connected' && m.address.toLowerCase() === address.toLowerCase() ? m : undefined;
}

/**
 * Load a mailbox for a caller, by address. A mailbox they may not see is a 404 exactly like one that does not
 * exist (404 mailbox_not_found: "not yours" is never told apart from "no such mailbox"); a token without
 * `permission` is a 403 insufficient_permission; one that has ended is a 410 mailbox_deleted / mailbox_expired,
 * unless `allowInactive` (reading or deleting what is left of an ended mailbox). Only hosted mailboxes unless
 * `connected` (a route that serves connected ones too: an API key's own, or a token's own, see connectedMailboxOf).
 */
export async function mailboxFor(
  principal: Principal,
  stores: Pick<Stores, 'mailboxes'>,
  address: string,
  permission: Permission,
  opts: { allowInactive?: boolean; connected?: boolean } = {},
): Promise<Mailbox> {
  // `connected`: the route also serves connected mailboxes (found by owner or token: their address is unique per owner)
  const m =
    (await stores.mailboxes.findByAddress(address)) ??
    (opts.connected ? await connectedMailboxOf(principal, stores, address) : undefined);
  if (!m || !canSee(principal, m)) throw new NotFound('mailbox not found', 'mailbox_not_found');
  checkPermission(principal, permission);
  if (!opts.allowInactive) {
    const ended = mailboxEnded(m);
    if (ended) throw mailboxGone(ended);
  }
  return m;
}
