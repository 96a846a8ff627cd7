import type { OutboundEvent } from '../store/outbound-events.js';
import type { OutboundDetail, OutboundSummary } from '../store/outbound.js';
import type { Suppression } from '../store/suppressions.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A list item: never bodies. */
export const presentOutboundSummary = (m: OutboundSummary) => ({
  id: m.id,
  recipient: m.recipient,
  subject: m.subject,
  status: m.status,
  stream: m.stream,
  attempts: m.attempts,
  created_at: iso(m.createdAt),
  sent_at: iso(m.sentAt),
  bounce_type: m.bounceType,
});

/** One outbound message: its columns, the send's content, attachment metadata and its events, oldest first. */
export const presentOutbound = (m: OutboundDetail, events: OutboundEvent[]) => ({
  ...presentOutboundSummary(m),
  send_id: m.sendId,
  recipient_name: m.recipientName,
  recipient_type: m.recipientType,
  message_id: m.messageId,
  envelope_from: m.envelopeFrom,
  smtp_response: m.smtpResponse,
  error: m.error,
  next_retry_at: iso(m.nextRetryAt),
  failed_at: iso(m.failedAt),
  bounce_diagnostic: m.bounceDiagnostic,
  bounced_at: iso(m.bouncedAt),
  opened_at: iso(m.openedAt),
  clicked_at: iso(m.clickedAt),
  track_opens: m.trackOpens,
  track_clicks: m.trackClicks,
  updated_at: iso(m.updatedAt),
  from_name: m.fromName,
  reply_to: m.replyTo,
  to: m.to,
  cc: m.cc,
  text: m.text,
  html: m.html,
  headers: m.headers,
  attachments: m.attachments,
  events: events.map((e) => ({ id: e.id, type: e.type, occurred_at: iso(e.occurredAt), payload: e.payload })),
});

export const presentSuppression = (s: Suppression) => ({
  recipient: s.recipient,
  reason: s.reason,
  source_message_id: s.sourceMessageId,
  notes: s.notes,
  created_at: iso(s.createdAt),
});
