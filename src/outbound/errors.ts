import { AppError, BadRequest } from '../core/errors.js';

/** 400 with the code the table names (`invalid_address`, `invalid_header`, `invalid_attachment`, ...). */
export const badSend = (code: string, message: string) => new BadRequest(message, code);

/** A hosted mailbox without OUTBOUND_RELAY_URL, or a connected one without its own SMTP account: 422. */
export class SendingNotConfigured extends AppError {
  readonly code = 'sending_not_configured';
  override readonly status = 422;
}

/** The plan allows no sending at all (`max_sends_per_day = 0`): 403. */
export class SendingNotAllowed extends AppError {
  readonly code = 'sending_not_allowed';
  override readonly status = 403;
}

/** The rolling 24 h quota is used up: 429 with Retry-After (seconds until enough of the window has passed). */
export class SendQuotaExceeded extends AppError {
  readonly code = 'send_quota_exceeded';
  override readonly status = 429;
  override readonly retryable = true;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterS: number) {
    super(message);
    this.headers = { 'Retry-After': String(retryAfterS) };
  }
}

/** The built message is larger than OUTBOUND_MAX_MESSAGE_BYTES: 413. */
export class OutboundMessageTooLarge extends AppError {
  readonly code = 'message_too_large';
  override readonly status = 413;
}
