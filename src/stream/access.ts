import { authenticate, bearerOf, mailboxFor, type AuthDeps, type CredentialRequest } from '../access/principal.js';
import type { StreamRateLimits } from '../access/request-limits.js';
import { cursorParam, onlyParams } from '../core/params.js';
import { tagParam } from '../core/tag-param.js';
import { BadRequest, TooManyStreams, Unauthorized, Unavailable } from '../core/errors.js';
import { inboxCursorParam, type InboxCursor } from '../connected/inbox-feed.js';
import type { Mailbox } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import type { StreamRegistry } from './registry.js';

export const STREAM_PARAMS = ['token', 'since', 'tag'];

/** What streamAccess reads from a raw Node request (SSE and WebSocket are served outside Koa). */
export function requestParts(req: { headers: Record<string, string | string[] | undefined> }, url: URL) {
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const get = (name: string) => {
    const v = req.headers[name.toLowerCase()];
    return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  };
  return { query, get };
}

/**
 * Who may open a stream on which mailbox, exactly as for REST (same rate limits, same credential rules, same
 * object-level check, same 404/410), except that an anonymous caller is told 401: a stream always needs a credential.
 * Last, after every await, it takes a stream slot in one synchronous step: one of the process's
 * `maxStreams` (503 service_unavailable when none is left) and one of the credential's `maxPerCredential`
 * (429 too_many_streams). The caller must hand `release` to the stream, or call it if no stream opens.
 */
export async function streamAccess(
  deps: AuthDeps & {
    registry: StreamRegistry;
    maxStreams: number;
    maxPerCredential: number;
    rateLimits?: StreamRateLimits;
  },
  req: CredentialRequest & { address: string; lastEventId?: string; socket: { remoteAddress?: string } },
): Promise<{
  principal: StreamPrincipal;
  mailbox: Mailbox;
  since: number | InboxCursor | undefined;
  tag: string | undefined;
  credentialExpiresAt: Date | undefined;
  release: () => void;
}> {
  await deps.rateLimits?.ip(req);
  const principal = await authenticate(bearerOf(req), deps);
  await deps.rateLimits?.principal(principal);
  if (principal.kind === 'anonymous')
    throw new Unauthorized('a stream needs a mailbox token or an API key (Authorization header or ?token=)');
  onlyParams(req.query, STREAM_PARAMS);
  const mailbox = await mailboxFor(principal, deps.stores, req.address, 'read', { connected: true });
  // EventSource sends Last-Event-ID on its own reconnects while the URL still carries the first ?since=
  const [sinceName, sinceValue] = req.lastEventId ? ['Last-Event-ID', req.lastEventId] : ['since', req.query.since];
  // a connected mailbox's cursor is `<uidvalidity>.<uid>` of its INBOX; it has no tags
  const connected = mailbox.kind === 'connected';
  const since = connected ? inboxCursorParam(sinceValue, sinceName) : cursorParam(sinceValue, sinceName);
  if (connected && req.query.tag !== undefined)
    throw new BadRequest('tag applies to hosted mailboxes only', 'tag_not_applicable');
  const tag = tagParam(req.query.tag);
  // a stream must not outlive the mailbox token it was opened with (its row was read by authenticate)
  const credentialExpiresAt = principal.kind === 'token' ? principal.expiresAt : undefined;
  // no await from here on: both caps are checked and the slot taken in one step. (The process cap was once
  // checked before an await: 40 concurrent opens with mailbox tokens got 8 to 12 streams past a cap of 5.)
  const slot = deps.registry.reserve(credentialOf(principal), {
    perProcess: deps.maxStreams,
    perCredential: deps.maxPerCredential,
  });
  if ('full' in slot) {
    if (slot.full === 'process')
      throw new Unavailable('this server holds its maximum number of streams (STREAM_MAX_PER_PROCESS); retry shortly');
    throw new TooManyStreams(
      `this credential already holds ${deps.maxPerCredential} open streams on this server (STREAM_MAX_PER_CREDENTIAL); close one first`,
    );
  }
  return { principal, mailbox, since, tag, credentialExpiresAt, release: slot.release };
}
