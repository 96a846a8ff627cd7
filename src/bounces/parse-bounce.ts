import { parseDeliveryStatus, type DeliveryStatus } from './dsn.js';
import { headerValue, mimeLeaves, parseContentType, parseHeaders, splitHead, type Header } from './mime.js';

/** What classification needs of a bounce message (pure; the returned message's own headers are never read). */
export interface ParsedBounce {
  /** top-level header fields only */
  headers: Header[];
  subject: string;
  contentType: string;
  reportType: string | null;
  /** the `message/delivery-status` (or `message/global-delivery-status`) part, parsed; null: none */
  deliveryStatus: DeliveryStatus | null;
  /** the `message/feedback-report` part's fields (ARF, RFC 5965); null: none */
  feedback: Record<string, string> | null;
  /** the human-readable text: the text/plain leaves outside message/* parts (bounded) */
  text: string;
}

const MAX_TEXT_CHARS = 64 * 1024;

const fields = (text: string): Record<string, string> =>
  Object.fromEntries(parseHeaders(text.replace(/^\s+/, '')).map((h) => [h.name, h.value]));

export function parseBounce(raw: Buffer): ParsedBounce {
  const latin1 = raw.toString('latin1');
  const headers = parseHeaders(splitHead(latin1).head);
  const top = parseContentType(headerValue(headers, 'content-type'));
  let deliveryStatus: DeliveryStatus | null = null;
  let feedback: Record<string, string> | null = null;
  const texts: string[] = [];
  let textChars = 0;
  for (const leaf of mimeLeaves(latin1)) {
    if (leaf.type === 'message/delivery-status' || leaf.type === 'message/global-delivery-status') {
      deliveryStatus ??= parseDeliveryStatus(leaf.body.toString('utf8'));
    } else if (leaf.type === 'message/feedback-report') {
      feedback ??= fields(leaf.body.toString('utf8'));
    } else if (leaf.type === 'text/plain' && textChars < MAX_TEXT_CHARS) {
      const t = leaf.body.toString('utf8').slice(0, MAX_TEXT_CHARS - textChars);
      texts.push(t);
      textChars += t.length;
    }
  }
  return {
    headers,
    subject: headerValue(headers, 'subject') ?? '',
    contentType: top.type,
    reportType: top.type === 'multipart/report' ? (top.params['report-type']?.toLowerCase() ?? null) : null,
    deliveryStatus,
    feedback,
    text: texts.join('\n'),
  };
}
