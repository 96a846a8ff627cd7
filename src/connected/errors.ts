import { AppError } from '../core/errors.js';

// The 5xx below show their messages: written for the account's owner, a server's text only through serverText.

/** A refusal of a connected mailbox's settings at creation: 422 with the caller's code (`imap_login_failed`, ...). */
export class AccountRejected extends AppError {
  readonly code: string;
  override readonly status = 422;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Connected mailboxes need CREDENTIALS_KEY in production: without it, every connected route is a 501. */
export class ConnectedDisabled extends AppError {
  readonly code = 'connected_disabled';
  override readonly status = 501;
  override readonly messageIsPublic = true;
  constructor() {
    super('connected mailboxes are disabled on this server: the operator has not set CREDENTIALS_KEY');
  }
}

/** The IMAP server did not answer within IMAP_TIMEOUT_MS (connect, greeting or a command): 504. */
export class ImapTimeout extends AppError {
  readonly code = 'imap_timeout';
  override readonly status = 504;
  override readonly messageIsPublic = true;
  override readonly retryable = true;
}

/** The IMAP server refused the connection, dropped it or cannot be reached: 502. */
export class ImapUnavailable extends AppError {
  readonly code = 'imap_unavailable';
  override readonly status = 502;
  override readonly messageIsPublic = true;
  override readonly retryable = true;
}

/** The IMAP server refused the stored credentials: 502 (the account's problem, never the caller's 401). */
export class ImapAuthFailed extends AppError {
  readonly code = 'imap_auth_failed';
  override readonly status = 502;
  override readonly messageIsPublic = true;
}

/** This process already holds IMAP_MAX_CONNECTIONS_PER_MAILBOX sessions of the mailbox and its queue is full: 503. */
export class ImapBusy extends AppError {
  readonly code = 'imap_busy';
  override readonly status = 503;
  override readonly messageIsPublic = true;
  override readonly retryable = true;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}
