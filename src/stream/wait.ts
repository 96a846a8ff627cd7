import { MailboxGone, Unauthorized } from '../core/errors.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import { untilListening, type Hub } from './hub.js';

const CREDENTIAL_ENDED = {
  token_revoked: 'token has been revoked',
  api_key_revoked: 'invalid or revoked API key',
  token_expired: 'token has expired',
} as const;

/**
 * Block until `search` finds something or `seconds` pass. Subscribes to the hub BEFORE the first
 * query (and waits, at most `listenWaitMs`, until the mailbox's Redis channel is confirmed), re-queries
 * only when an event for this mailbox arrives (never a polling loop), and queries once more at the
 * deadline so a lost publish is still seen. `signal` aborts when the client leaves.
 * Like a stream, a wait does not outlive the credential it was opened with: when that mailbox token or API
 * key is revoked, or the token expires, it ends at once with 401, and no message is returned after that.
 */
export async function waitForMatch<T>(opts: {
  hub: Hub;
  mailboxId: string;
  seconds: number;
  listenWaitMs: number;
  search: () => Promise<T[]>;
  signal: AbortSignal;
  /** who is waiting (a mailbox token or an API key) */
  principal?: StreamPrincipal;
  /** when the mailbox expires: a token that expires with it (a creator token) ends the wait with 410, not 401 */
  mailboxExpiresAt?: Date | null;
  /**
   * The mailbox as it is now, read when its expires_at comes during the wait: the wait then ends with 410 even
   * if no expiry event arrives (no expiry job ran, a lost publish); a TTL extended meanwhile re-arms the check.
   */
  mailboxState?: () => Promise<{ gone?: 'expired' | 'deleted'; expiresAt?: Date | null }>;
}): Promise<T[]> {
  if (opts.signal.aborted) return []; // the client has left already
  let dirty = false;
  let gone: 'expired' | 'deleted' | undefined;
  let ended: keyof typeof CREDENTIAL_ENDED | undefined;
  let wake: (() => void) | undefined;
  const p = opts.principal;
  const unsubscribe = opts.hub.subscribe(opts.mailboxId, (e) => {
    if (e.type === 'new_message') dirty = true;
    else if (e.type === 'mailbox_expired') gone = e.reason;
    else if (e.type === 'token_revoked' && p?.kind === 'token' && e.jti === p.jti) ended = 'token_revoked';
    else if (e.type === 'api_key_revoked' && p?.kind === 'user' && e.keyId === p.apiKeyId) ended = 'api_key_revoked';
    else return;
    wake?.();
  }, p ? credentialOf(p) : undefined);
  const deadline = Date.now() + opts.seconds * 1000;
  // only a token that expires before the wait ends, and before its mailbox (whose expiry is a 410, as on a
  // stream), needs a timer (and a far one would overflow setTimeout)
  const expiry = p?.kind === 'token' && (!opts.mailboxExpiresAt || p.expiresAt < opts.mailboxExpiresAt) && p.expiresAt.getTime() <= deadline
    ? setTimeout(() => { ended ??= 'token_expired'; wake?.(); }, Math.max(0, p.expiresAt.getTime() - Date.now()))
    : undefined;
  // the mailbox's own end, checked against the database when it comes (only within the wait)
  let expiryDue = false;
  let mailboxTimer: NodeJS.Timeout | undefined;
  const armMailboxTimer = (at: Date | null | undefined) => {
    clearTimeout(mailboxTimer);
    mailboxTimer = opts.mailboxState && at && at.getTime() <= deadline
      ? setTimeout(() => { expiryDue = true; wake?.(); }, Math.max(0, at.getTime() - Date.now()))
      : undefined;
  };
  armMailboxTimer(opts.mailboxExpiresAt);
  const check = () => { if (ended) throw new Unauthorized(CREDENTIAL_ENDED[ended]); };
  const onAbort = () => wake?.();
  opts.signal.addEventListener('abort', onAbort);
  try {
    if (opts.seconds > 0) {
      // a client that leaves meanwhile does not wait for the channel (up to listenWaitMs when Redis is slow)
      const left = new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
      await Promise.race([untilListening(opts.hub, opts.mailboxId, opts.listenWaitMs), left]);
      if (opts.signal.aborted) return [];
    }
    let found = await opts.search();
    while (found.length === 0 && !opts.signal.aborted) {
      check();
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (!dirty && !gone && !ended && !expiryDue) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      check();
      if (expiryDue && !gone) {
        expiryDue = false;
        const state = await opts.mailboxState!();
        if (state.gone) gone = state.gone;
        else armMailboxTimer(state.expiresAt);
        if (!gone && !dirty) continue; // the TTL was extended: wait on
      }
      if (gone) throw new MailboxGone(gone === 'deleted' ? 'mailbox_deleted' : 'mailbox_expired', `mailbox has ${gone === 'deleted' ? 'been deleted' : 'expired'}`);
      if (opts.signal.aborted) break;
      const timedOut = !dirty;
      dirty = false;
      found = await opts.search(); // on an event, or the final look at the deadline
      if (timedOut) break;
    }
    // the credential may have ended while the last search ran: nothing found after that is returned
    check();
    return found;
  } finally {
    clearTimeout(expiry);
    clearTimeout(mailboxTimer);
    unsubscribe();
    opts.signal.removeEventListener('abort', onAbort);
  }
}
