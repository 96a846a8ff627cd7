import { BadRequest, MessageTooLarge } from '../../core/errors.js';
import { domainOf } from '../../core/address.js';

/**
 * Interpret the `Message` of an SNS Notification published by an SES receipt rule (pure).
 * Only the SNS action carries the mail inline (`content`, UTF8 or BASE64 per `receipt.action.encoding`);
 * every other action (S3, Lambda, …) only announces it, so there is nothing to deliver.
 */
export type ReceiptOutcome =
  | { kind: 'deliver'; raw: Buffer; to: string[]; from: string | null; foreign: number; sesMessageId: string | null }
  | { kind: 'skip'; reason: SkipReason; detail: Record<string, unknown> };

export type SkipReason = 's3_action' | 'no_inline_content' | 'not_a_receipt' | 'no_local_recipients';

interface SesNotification {
  notificationType?: unknown;
  receipt?: {
    recipients?: unknown;
    action?: {
      type?: unknown;
      encoding?: unknown;
      bucketName?: unknown;
      objectKey?: unknown;
      objectKeyPrefix?: unknown;
    };
  };
  mail?: { source?: unknown; messageId?: unknown };
  content?: unknown;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** UTF8 (SES's default, also spelled UTF-8) or BASE64, case-insensitively; anything else is refused. */
function decode(content: string, encoding: unknown, maxBytes: number): Buffer {
  const enc = (str(encoding) ?? 'UTF8').toUpperCase().replace('-', '');
  if (enc === 'BASE64') {
    const compact = content.replace(/\s+/g, '');
    if (compact.length % 4 !== 0 || !BASE64.test(compact))
      throw new BadRequest('receipt content is not valid base64', 'invalid_content');
    if ((compact.length / 4) * 3 - 2 > maxBytes) throw new MessageTooLarge(`message exceeds ${maxBytes} bytes`);
    return Buffer.from(compact, 'base64');
  }
  if (enc === 'UTF8') return Buffer.from(content, 'utf8');
  throw new BadRequest(`unknown receipt content encoding ${JSON.stringify(encoding)}`, 'invalid_content');
}

export function interpretReceipt(
  message: string,
  opts: { domains: ReadonlySet<string>; maxBytes: number },
): ReceiptOutcome {
  let n: SesNotification;
  try {
    n = JSON.parse(message) as SesNotification;
  } catch {
    return { kind: 'skip', reason: 'not_a_receipt', detail: { why: 'Message is not JSON' } };
  }
  if (
    typeof n !== 'object' ||
    n === null ||
    n.notificationType !== 'Received' ||
    !Array.isArray(n.receipt?.recipients)
  ) {
    return {
      kind: 'skip',
      reason: 'not_a_receipt',
      detail: { notificationType: str((n as SesNotification | null)?.notificationType) },
    };
  }
  const action = n.receipt.action ?? {};
  const sesMessageId = str(n.mail?.messageId);
  if (action.type === 'S3') {
    return {
      kind: 'skip',
      reason: 's3_action',
      detail: { sesMessageId, bucketName: str(action.bucketName), objectKey: str(action.objectKey) },
    };
  }
  if (action.type !== 'SNS' || typeof n.content !== 'string') {
    return { kind: 'skip', reason: 'no_inline_content', detail: { sesMessageId, actionType: str(action.type) } };
  }
  const recipients = (n.receipt.recipients as unknown[]).filter(
    (r): r is string => typeof r === 'string' && r.includes('@'),
  );
  const to = recipients.filter((r) => opts.domains.has(domainOf(r)));
  if (to.length === 0)
    return { kind: 'skip', reason: 'no_local_recipients', detail: { sesMessageId, recipients: recipients.length } };
  const raw = decode(n.content, action.encoding, opts.maxBytes);
  if (raw.length > opts.maxBytes) throw new MessageTooLarge(`message exceeds ${opts.maxBytes} bytes`);
  return {
    kind: 'deliver',
    raw,
    to,
    from: str(n.mail?.source) || null,
    foreign: recipients.length - to.length,
    sesMessageId,
  };
}
