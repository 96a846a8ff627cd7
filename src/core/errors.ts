/**
 * One error type for the whole system. Business code throws an AppError; exactly three places
 * translate it: the Koa error middleware (HTTP), the SMTP hooks (reply codes) and the BullMQ
 * processors (retry vs. give up).
 */
export interface SmtpReply {
  code: number;
  text: string;
}

export abstract class AppError extends Error {
  abstract readonly code: string;
  readonly status: number = 500;
  /** transient: retry the job / ask the client to retry */
  readonly retryable: boolean = false;
  readonly smtp: SmtpReply = { code: 451, text: '4.3.0 Temporary failure, try again later' };
  readonly headers: Record<string, string> = {};
  /** a 5xx whose message was written for the caller (no internals: e.g. a remote server's text, sanitized) */
  readonly messageIsPublic: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequest extends AppError {
  readonly code: string;
  override readonly status = 400;
  constructor(message: string, code = 'invalid_request') {
    super(message);
    this.code = code;
  }
}
export class Unauthorized extends AppError {
  readonly code = 'unauthorized';
  override readonly status = 401;
}
export class Forbidden extends AppError {
  readonly code: string;
  override readonly status = 403;
  constructor(message: string, code = 'forbidden') {
    super(message);
    this.code = code;
  }
}
export class NotFound extends AppError {
  readonly code: string;
  override readonly status = 404;
  constructor(message = 'not found', code = 'not_found') {
    super(message);
    this.code = code;
  }
}
export class MailboxGone extends AppError {
  readonly code: string;
  override readonly status = 410;
  constructor(code: 'mailbox_expired' | 'mailbox_deleted', message: string) {
    super(message);
    this.code = code;
  }
}
export class PayloadTooLarge extends AppError {
  readonly code = 'payload_too_large';
  override readonly status = 413;
}
export class Conflict extends AppError {
  readonly code: string;
  override readonly status = 409;
  constructor(message: string, code = 'conflict') {
    super(message);
    this.code = code;
  }
}
export class QuotaExceeded extends AppError {
  readonly code: string;
  override readonly status = 403;
  constructor(message: string, code = 'quota_exceeded') {
    super(message);
    this.code = code;
  }
}
export class RecipientRejected extends AppError {
  readonly code = 'relay_denied';
  override readonly status = 400;
  override readonly smtp = { code: 550, text: '5.7.1 Relaying denied: recipient domain not accepted here' };
}
/** A `bounce+` RCPT whose VERP signature does not verify (issue 21): refused before DATA, no database read. */
export class VerpRecipientRejected extends AppError {
  readonly code = 'verp_rejected';
  override readonly status = 400;
  override readonly smtp = { code: 550, text: '5.1.1 Bad destination mailbox address' };
}
export class TooManyRecipients extends AppError {
  readonly code = 'too_many_recipients';
  override readonly status = 400;
  override readonly smtp = { code: 452, text: '4.5.3 Too many recipients' };
}
export class MessageTooLarge extends AppError {
  readonly code = 'message_too_large';
  override readonly status = 413;
  override readonly smtp = { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' };
}
/** SMTP_MAX_DATA_BYTES_IN_FLIGHT: the ingress holds its maximum of message bytes; the client sends again later. */
export class IngressBusy extends AppError {
  readonly code = 'ingress_busy';
  override readonly status = 503;
  override readonly retryable = true;
  override readonly smtp = { code: 452, text: '4.3.1 Insufficient system storage, try again later' };
}
/** A rate limit was reached: 429 over HTTP (with Retry-After), 421 4.7.0 over SMTP (connection closed). */
export class TooManyRequests extends AppError {
  readonly code = 'rate_limited';
  override readonly status = 429;
  override readonly retryable = true;
  override readonly smtp = { code: 421, text: '4.7.0 Too many connections from your address, try again later' };
  override readonly headers: Record<string, string>;
  constructor(message: string, headers: Record<string, string> = {}) {
    super(message);
    this.headers = headers;
  }
}
/** One credential already holds its maximum of open streams on this process: 429, close one first. */
export class TooManyStreams extends AppError {
  readonly code = 'too_many_streams';
  override readonly status = 429;
  override readonly retryable = true;
}
/** A dependency (Redis, Postgres) did not answer: retry later. */
export class Unavailable extends AppError {
  readonly code = 'service_unavailable';
  override readonly status = 503;
  override readonly retryable = true;
}

/** The process is shutting down: SMTP 421 (the client retries elsewhere or later), HTTP 503. */
export class ShuttingDown extends AppError {
  readonly code = 'shutting_down';
  override readonly status = 503;
  override readonly retryable = true;
  override readonly smtp = { code: 421, text: '4.3.2 Service shutting down, try again later' };
}

/** An SMTP session or its DATA outlived SMTP_MAX_SESSION_MS / SMTP_MAX_DATA_MS: 421, the message is not accepted. */
export class SessionTimeLimit extends AppError {
  readonly code = 'smtp_time_limit';
  override readonly status = 503;
  override readonly retryable = true;
  override readonly smtp = { code: 421, text: '4.4.2 session time limit exceeded, closing connection' };
}

/**
 * No SMTP session for this client now (issue 24): its address holds SMTP_MAX_CLIENTS_PER_IP sessions, or the
 * sessions left are reserved for new addresses, or every one is taken and none is idle enough to close. 421: the
 * client retries later. Not retryable in the log's sense: the client's doing, logged at info without a stack.
 */
export class NoSmtpSession extends AppError {
  readonly code: string;
  override readonly status = 503;
  override readonly smtp: SmtpReply;
  constructor(code: 'smtp_per_ip_limit' | 'smtp_reserved' | 'smtp_full' | 'smtp_idle_evicted', text: string) {
    super(text);
    this.code = code;
    this.smtp = { code: 421, text };
  }
}

export const asAppError = (err: unknown): AppError =>
  err instanceof AppError ? err : new Unavailable('unexpected failure', { cause: err });
