import { AppError } from '../core/errors.js';
import type { Metrics } from '../ops/metrics.js';
import { ImapAuthFailed, ImapTimeout, ImapUnavailable } from './errors.js';

/** How an IMAP session of the bridge ended, as `mailwright_imap_sessions_total{outcome}` counts it. */
export type SessionOutcome = 'ok' | 'auth_failed' | 'unavailable' | 'timeout' | 'error';

/**
 * The outcome a failure gives its session: the IMAP server's own failures by kind; the request's own 4xx (a
 * message or folder not found) is a session that worked, so `ok`; anything else `error`.
 */
export function outcomeOf(err: unknown): SessionOutcome {
  if (err instanceof ImapTimeout) return 'timeout';
  if (err instanceof ImapAuthFailed) return 'auth_failed';
  if (err instanceof ImapUnavailable) return 'unavailable';
  if (err instanceof AppError && err.status < 500) return 'ok';
  return 'error';
}

/**
 * The socket of a connected imapflow client (kept as `socket` while connected, dropped on close), so its
 * `bytesRead` can be read once the session has ended.
 */
export const socketOf = (client: object): { bytesRead?: unknown } | undefined =>
  (client as { socket?: { bytesRead?: unknown } | false }).socket || undefined;

/** What a socket has read from the server, 0 for none. */
export const bytesReadOf = (socket: { bytesRead?: unknown } | undefined): number =>
  typeof socket?.bytesRead === 'number' ? socket.bytesRead : 0;

/**
 * Records one session once: its outcome (the first failure seen wins over `ok`), its duration from the start of
 * the connection to the closed socket, and the bytes read from the server. Without metrics, nothing.
 */
export function sessionRecorder(metrics: Metrics | undefined) {
  const started = process.hrtime.bigint();
  let outcome: SessionOutcome = 'ok';
  let failed = false;
  let recorded = false;
  return {
    failed(err: unknown) {
      if (failed) return;
      const o = outcomeOf(err);
      if (o !== 'ok') {
        failed = true;
        outcome = o;
      }
    },
    done(bytesRead: number) {
      if (recorded || !metrics) return;
      recorded = true;
      metrics.imapSessions.inc({ outcome });
      metrics.imapSessionSeconds.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      metrics.imapBytesFetched.inc(bytesRead);
    },
  };
}
