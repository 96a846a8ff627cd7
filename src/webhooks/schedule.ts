/**
 * When a failed attempt is tried again (pure). `scheduleMs[n - 1]` after the n-th attempt, ±20 % jitter; a 429 or
 * 503 with `Retry-After` waits that long instead (at most an hour). After the last entry: no retry (`null`).
 */
export const RETRY_AFTER_MAX_MS = 3_600_000;
export const JITTER = 0.2;

export function nextAttemptDelay(p: {
  /** attempts made so far, this one included */
  attempts: number;
  scheduleMs: readonly number[];
  statusCode: number | null;
  retryAfterMs?: number;
  random?: () => number;
}): number | null {
  if (p.attempts > p.scheduleMs.length) return null;
  if ((p.statusCode === 429 || p.statusCode === 503) && p.retryAfterMs !== undefined)
    return Math.min(Math.max(0, p.retryAfterMs), RETRY_AFTER_MAX_MS);
  const base = p.scheduleMs[p.attempts - 1]!;
  const factor = 1 + JITTER * (2 * (p.random ?? Math.random)() - 1);
  return Math.round(base * factor);
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^[0-9]{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
