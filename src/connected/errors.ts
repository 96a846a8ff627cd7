import { AppError } from '../core/errors.js';

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
  constructor() {
    super('connected mailboxes are disabled on this server: the operator has not set CREDENTIALS_KEY');
  }
}
