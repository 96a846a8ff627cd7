import { toIso } from '../core/time.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import type { AttachmentMeta, MessageFull, MessageSummary } from '../store/messages.js';

/** Wire shapes (snake_case JSON). The mapping from domain objects lives here and nowhere else. */
export const presentMailbox = (m: Mailbox) => ({
  address: m.address,
  kind: m.kind,
  plan: m.planId,
  is_active: !mailboxEnded(m),
  expires_at: toIso(m.expiresAt),
  created_at: toIso(m.createdAt),
  deactivated_at: toIso(m.deactivatedAt),
  message_count: m.messageCount,
  used_bytes: m.usedBytes,
  dropped_count: m.droppedCount,
});

export const presentSummary = (m: MessageSummary) => ({
  id: m.id,
  from_address: m.fromAddress,
  subject: m.subject,
  received_at: toIso(m.receivedAt),
  is_read: m.isRead,
  has_attachments: m.hasAttachments,
});

const presentAttachment = (a: AttachmentMeta) => ({
  index: a.index,
  filename: a.filename,
  content_type: a.contentType,
  size: a.size,
  content_id: a.contentId,
  disposition: a.disposition,
});

export const presentMessage = (m: MessageFull, mailbox: Mailbox) => ({
  id: m.id,
  mailbox: mailbox.address,
  cursor: String(m.seq),
  message_id: m.messageIdHeader,
  from_address: m.fromAddress,
  from_name: m.fromName,
  to: m.to,
  cc: m.cc,
  reply_to: m.replyTo,
  subject: m.subject,
  text: m.text,
  html: m.html,
  headers: m.headers,
  attachments: m.attachments.map(presentAttachment),
  has_attachments: m.hasAttachments,
  size: m.sizeBytes,
  sent_at: toIso(m.sentAt),
  received_at: toIso(m.receivedAt),
  is_read: m.isRead,
  source: m.source,
  envelope_from: m.envelopeFrom,
  parse_error: m.parseError,
  codes: m.codes.map((c) => ({ code: c.code, found_in: c.foundIn, context: c.context })),
  links: m.links.map((l) => ({ url: l.url, text: l.text, found_in: l.foundIn })),
});
