import { mailboxGone } from '../access/principal.js';
import { Unauthorized } from '../core/errors.js';
import type { MailboxEnd } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import { untilListening, type Hub } from './hub.js';

const CREDENTIAL_ENDED = {
  token_revoked: 'token has been revoked',
  api_key_revoked: 'invalid or revoked API key',
  token_expired: 'token has expired',
} as const;
type CredentialEnd = keyof typeof CREDENTIAL_ENDED;

/**
 * What wakes a waiting wait. `new_message` means "search again"; the others end the wait: `deadline` after one
 * last search, the rest without one.
 */
type Outcome =
  | { kind: 'credential_ended'; reason: CredentialEnd }
  | { kind: 'failed'; err: unknown }
  | { kind: 'mailbox_ended'; reason: MailboxEnd }
  | { kind: 'client_gone' }
  | { kind: 'new_message' }
  | { kind: 'deadline' };

/** When several are due at once, the first of this list is answered (a revoked credential is never outranked). */
const URGENCY: readonly Outcome['kind'][] = [
  'credential_ended',
  'failed',
  'mailbox_ended',
  'client_gone',
  'new_message',
  'deadline',
];

/** The outcomes that have happened so far; `next()` hands out the most urgent, waiting for one if none has. */
class Outcomes {
  private readonly due = new Map<Outcome['kind'], Outcome>();
  private wake: (() => void) | undefined;

  /** the first outcome of each kind counts (a credential ends once) */
  settle(o: Outcome): void {
    if (!this.due.has(o.kind)) this.due.set(o.kind, o);
    this.wake?.();
  }

  has(kind: Outcome['kind']): boolean {
    return this.due.has(kind);
  }

  /** `new_message` is taken (the search it asks for covers every message so far); the others stay due */
  async next(): Promise<Outcome> {
    for (;;) {
      const kind = URGENCY.find((k) => this.due.has(k));
      if (kind) {
        const o = this.due.get(kind)!;
        if (kind === 'new_message') this.due.delete(kind);
        return o;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  /** a credential that ended while a search ran: nothing found after that is returned */
  throwIfCredentialEnded(): void {
    const o = this.due.get('credential_ended');
    if (o?.kind === 'credential_ended') throw new Unauthorized(CREDENTIAL_ENDED[o.reason]);
  }
}

export interface WaitOptions<T> {
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
  mailboxState?: () => Promise<{ gone?: MailboxEnd; expiresAt?: Date | null }>;
}

/**
 * Block until `search` finds something or `seconds` pass: a "search on event" loop inside a race of outcomes.
 * It subscribes to the hub BEFORE the first search (and waits, at most `listenWaitMs`, until the mailbox's Redis
 * channel is confirmed), then searches again only when a message arrives for this mailbox (never a polling
 * loop), and once more at the deadline so a lost publish is still seen. The wait ends early when:
 * - the client leaves (`signal` aborts): [] at once;
 * - its credential ends, as a stream does (the mailbox token or API key is revoked, the token expires): 401, and
 *   nothing found after that is returned;
 * - its mailbox ends (an expiry or delete event, or its expires_at passes with no event): 410.
 */
export async function waitForMatch<T>(opts: WaitOptions<T>): Promise<T[]> {
  if (opts.signal.aborted) return []; // the client has left already
  const deadline = Date.now() + opts.seconds * 1000;
  const outcomes = new Outcomes();
  const stop = watch(opts, deadline, outcomes);
  try {
    if (opts.seconds > 0) {
      // a client that leaves meanwhile does not wait for the channel (up to listenWaitMs when Redis is slow)
      const left = new Promise<void>((resolve) =>
        opts.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await Promise.race([untilListening(opts.hub, opts.mailboxId, opts.listenWaitMs), left]);
      if (opts.signal.aborted) return [];
    }
    let found = await opts.search();
    while (found.length === 0 && Date.now() < deadline) {
      const o = await outcomes.next();
      if (o.kind === 'credential_ended') break; // answered below
      if (o.kind === 'failed') throw o.err;
      if (o.kind === 'mailbox_ended') throw mailboxGone(o.reason);
      if (o.kind === 'client_gone') break;
      found = await opts.search(); // on a new message, or the last look at the deadline
      if (o.kind === 'deadline') break;
    }
    outcomes.throwIfCredentialEnded();
    return found;
  } finally {
    stop();
  }
}

/** The length of a timer that fires at `at`, or undefined when `at` is after the wait's deadline (no timer needed). */
const msUntil = (at: Date | null | undefined, deadline: number) =>
  at && at.getTime() <= deadline ? Math.max(0, at.getTime() - Date.now()) : undefined;

/** Start every source of outcomes: the hub, the client's signal and the timers. Returns what stops them all. */
function watch<T>(opts: WaitOptions<T>, deadline: number, outcomes: Outcomes): () => void {
  const p = opts.principal;
  const unsubscribe = opts.hub.subscribe(
    opts.mailboxId,
    (e) => {
      if (e.type === 'new_message') outcomes.settle({ kind: 'new_message' });
      else if (e.type === 'mailbox_expired') outcomes.settle({ kind: 'mailbox_ended', reason: e.reason });
      else if (e.type === 'token_revoked' && p?.kind === 'token' && e.jti === p.jti)
        outcomes.settle({ kind: 'credential_ended', reason: 'token_revoked' });
      else if (e.type === 'api_key_revoked' && p?.kind === 'user' && e.keyId === p.apiKeyId)
        outcomes.settle({ kind: 'credential_ended', reason: 'api_key_revoked' });
    },
    p ? credentialOf(p) : undefined,
  );

  const onAbort = () => outcomes.settle({ kind: 'client_gone' });
  opts.signal.addEventListener('abort', onAbort);
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const after = (ms: number | undefined, fire: () => void) => {
    if (ms === undefined || stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      fire();
    }, ms);
    timers.add(timer);
  };

  if (opts.seconds > 0) after(Math.max(0, deadline - Date.now()), () => outcomes.settle({ kind: 'deadline' }));
  // only a token that expires before the wait ends, and before its mailbox (whose expiry is a 410, as on a stream)
  if (p?.kind === 'token' && (!opts.mailboxExpiresAt || p.expiresAt < opts.mailboxExpiresAt)) {
    after(msUntil(p.expiresAt, deadline), () => outcomes.settle({ kind: 'credential_ended', reason: 'token_expired' }));
  }
  // the mailbox's own end, checked against the database when its expires_at comes (only within the wait)
  const mailboxState = opts.mailboxState;
  if (mailboxState) {
    const checkAt = (at: Date | null | undefined) =>
      after(msUntil(at, deadline), () => {
        if (outcomes.has('mailbox_ended')) return;
        mailboxState().then(
          (state) =>
            state.gone ? outcomes.settle({ kind: 'mailbox_ended', reason: state.gone }) : checkAt(state.expiresAt), // extended: wait on
          (err: unknown) => outcomes.settle({ kind: 'failed', err }),
        );
      });
    checkAt(opts.mailboxExpiresAt);
  }

  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    unsubscribe();
    opts.signal.removeEventListener('abort', onAbort);
  };
}
