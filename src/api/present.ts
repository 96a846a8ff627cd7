import { toIso } from '../core/time.js';
import { mailboxEnded, type AccountSettings, type BounceInbox, type Mailbox } from '../store/mailboxes.js';
import type { AddressEntry, AttachmentMeta } from '../store/message-row.js';
import type { MessageFull, MessageSummary } from '../store/messages.js';
import type { Plan } from '../store/plans.js';

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
  // a connected mailbox's accounts, never their passwords (null once DELETE forgot them)
  ...(m.kind === 'connected'
    ? { imap: presentAccount(m.imap), smtp: presentAccount(m.smtp), bounce_imap: presentBounceInbox(m.bounceImap) }
    : {}),
});

/** A bounce inbox without its password, with the last poll (issue 21). */
const presentBounceInbox = (b: BounceInbox | null) =>
  b && {
    ...presentAccount(b),
    folder: b.folder,
    verp_domain: b.verpDomain,
    last_poll_at: toIso(b.lastPollAt),
    last_poll_result: b.lastPollResult,
  };

/** An account of a connected mailbox without its password. */
const presentAccount = (a: AccountSettings | null) =>
  a && { host: a.host, port: a.port, tls: a.tls, username: a.username };

/** The answer to creating a connected mailbox: no password, no token, no expiry. */
export const presentConnected = (m: Mailbox) => ({
  address: m.address,
  kind: m.kind,
  created_at: toIso(m.createdAt),
  expires_at: toIso(m.expiresAt),
  is_active: !mailboxEnded(m),
  imap: presentAccount(m.imap),
  smtp: presentAccount(m.smtp),
  bounce_imap: presentBounceInbox(m.bounceImap),
});

/** A plan as its row names it (the CLI prints these; the API's snake_case). */
export const presentPlan = (p: Plan) => ({
  id: p.id,
  name: p.name,
  default_ttl_minutes: p.defaultTtlMinutes,
  max_ttl_minutes: p.maxTtlMinutes,
  max_messages_per_mailbox: p.maxMessagesPerMailbox,
  max_message_bytes: p.maxMessageBytes,
  max_active_mailboxes: p.maxActiveMailboxes,
  max_connected_mailboxes: p.maxConnectedMailboxes,
  create_budget_points: p.createBudget.points,
  create_budget_window_s: p.createBudget.windowS,
});

export const presentSummary = (m: MessageSummary) => ({
  id: m.id,
  from_address: m.fromAddress,
  subject: m.subject,
  received_at: toIso(m.receivedAt),
  is_read: m.isRead,
  has_attachments: m.hasAttachments,
  tag: m.tag,
});

/** An absent display name is null, as `from_name` (messages stored before that hold ''). */
const presentAddresses = (list: AddressEntry[]) => list.map((a) => ({ address: a.address, name: a.name || null }));

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
  tag: m.tag,
  message_id: m.messageIdHeader,
  from_address: m.fromAddress,
  from_name: m.fromName,
  to: presentAddresses(m.to),
  cc: presentAddresses(m.cc),
  reply_to: presentAddresses(m.replyTo),
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
