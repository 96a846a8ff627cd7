/**
 * Pure decisions of the send processor: how an SMTP result is classified, and when a deferred message is tried
 * again. No I/O; tested as tables (test/unit/outbound-retry-policy.test.ts).
 */

/** What nodemailer reports of a failed transaction (the fields we read). */
export interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
  /** EENVELOPE: one entry per refused recipient */
  rejectedErrors?: Array<{ responseCode?: number; response?: string }>;
}

export type Verdict = { kind: 'permanent'; response: string } | { kind: 'transient'; response: string };

/** The server's reply text (or the error's, for a connection failure), one line, at most 1,000 characters. */
function responseText(e: SmtpFailure, inner?: { response?: string }): string {
  const text = inner?.response ?? e.response ?? [e.code, e.message].filter(Boolean).join(': ');
  return text.replace(/\s+/g, ' ').trim().slice(0, 1000) || 'unknown error';
}

/**
 * 5xx on MAIL, RCPT or DATA: permanent (never retried). 4xx, timeouts, refused or reset connections, anything
 * without a reply code: transient.
 */
export function classifyFailure(err: unknown): Verdict {
  const e = (err ?? {}) as SmtpFailure;
  const inner = e.rejectedErrors?.[0];
  const code = inner?.responseCode ?? e.responseCode;
  const response = responseText(e, inner);
  return code !== undefined && code >= 500 && code < 600
    ? { kind: 'permanent', response }
    : { kind: 'transient', response };
}

/**
 * When attempt `attempt` (1-based) that failed transiently is tried again: `base × 2^(attempt−1)` ±20 % jitter,
 * capped at `max`. `random` in [0, 1).
 */
export function retryDelayMs(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const exp = base * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const jittered = exp * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, max));
}
