import { AppError } from '../core/errors.js';

export type DropReason =
  | 'unknown_mailbox'
  | 'mailbox_inactive'
  | 'mailbox_expired'
  | 'mailbox_full'
  | 'message_too_large'
  | 'not_hosted'
  /** a VERP recipient whose DSN the bounce processor refused (unknown id, envelope mismatch, too old) */
  | 'bounce_rejected';

/** A delivery that must not be retried: logged with its reason, counted, never bounced. */
export class Dropped extends AppError {
  readonly code = 'dropped';
  constructor(
    readonly reason: DropReason,
    readonly mailboxId: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A VERP recipient's message, processed by the bounce processor (issue 21): not stored as a mailbox message. */
export class HandedToBounces extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}
