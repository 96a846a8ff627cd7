import { AppError } from '../core/errors.js';

export type DropReason =
  'unknown_mailbox' | 'mailbox_inactive' | 'mailbox_expired' | 'mailbox_full' | 'message_too_large' | 'not_hosted';

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
