import type { Db } from './db.js';
import { appendOutboundEvents } from './outbound-events.js';

export type OutboundStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'bounced' | 'suppressed';
export type RecipientType = 'to' | 'cc' | 'bcc';
export type Stream = 'transactional' | 'broadcast';

export interface NamedAddress {
  address: string;
  name: string | null;
}

export interface NewAttachment {
  filename: string | null;
  contentType: string;
  content: Buffer;
}

/** One accepted send request: the content (stored once) and one recipient row per distinct address. */
export interface NewSend {
  id: string;
  mailboxId: string;
  ownerUserId: string | null;
  messageId: string;
  date: Date;
  fromName: string | null;
  replyTo: string | null;
  to: NamedAddress[];
  cc: NamedAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  attachments: NewAttachment[];
  stream: Stream;
  trackOpens: boolean;
  trackClicks: boolean;
  tokenJti: string | null;
  apiKeyId: string | null;
  recipients: Array<NamedAddress & { id: string; type: RecipientType; suppressed: boolean }>;
}

/**
 * Write a send in the caller's transaction: the content, its attachments, one `outbound_messages` row per
 * recipient (`queued`, or `suppressed`) and each row's first event. Returns the webhook deliveries of those events
 * (outbound.queued / outbound.suppressed) to enqueue after commit.
 */
export async function insertSend(trx: Db, s: NewSend): Promise<string[]> {
  await trx('outbound_sends').insert({
    id: s.id,
    mailbox_id: s.mailboxId,
    message_id: s.messageId,
    date: s.date,
    from_name: s.fromName,
    reply_to: s.replyTo,
    to_addresses: JSON.stringify(s.to),
    cc_addresses: JSON.stringify(s.cc),
    subject: s.subject,
    text_body: s.text,
    html_body: s.html,
    headers: JSON.stringify(s.headers),
    attachments: JSON.stringify(
      s.attachments.map((a, index) => ({
        index,
        filename: a.filename,
        content_type: a.contentType,
        size: a.content.length,
      })),
    ),
    stream: s.stream,
    track_opens: s.trackOpens,
    track_clicks: s.trackClicks,
    token_jti: s.tokenJti,
    api_key_id: s.apiKeyId,
    created_at: s.date,
  });
  if (s.attachments.length > 0)
    await trx('outbound_attachments').insert(
      s.attachments.map((a, index) => ({
        send_id: s.id,
        index,
        filename: a.filename,
        content_type: a.contentType,
        size: a.content.length,
        content: a.content,
      })),
    );
  await trx('outbound_messages').insert(
    s.recipients.map((r, position) => ({
      id: r.id,
      send_id: s.id,
      mailbox_id: s.mailboxId,
      owner_user_id: s.ownerUserId,
      recipient_email: r.address,
      recipient_name: r.name,
      recipient_type: r.type,
      position,
      subject: s.subject,
      stream: s.stream,
      status: r.suppressed ? 'suppressed' : 'queued',
      message_id: s.messageId,
      track_opens: s.trackOpens,
      track_clicks: s.trackClicks,
      token_jti: s.tokenJti,
      api_key_id: s.apiKeyId,
    })),
  );
  const appended = await appendOutboundEvents(
    trx,
    s.recipients.map((r) => ({
      outboundMessageId: r.id,
      type: r.suppressed ? 'suppressed' : 'queued',
      payload: r.suppressed ? { reason: 'suppressed_recipient' } : {},
    })),
  );
  return appended.webhookDeliveries;
}

/** A list item: never bodies. */
export interface OutboundSummary {
  id: string;
  recipient: string;
  subject: string;
  status: OutboundStatus;
  stream: Stream;
  attempts: number;
  createdAt: Date;
  sentAt: Date | null;
  bounceType: 'hard' | 'soft' | null;
  /** created_at in microseconds since the epoch (exact, for the page cursor) */
  createdMicros: string;
}

const SUMMARY_COLUMNS = [
  'id',
  'recipient_email',
  'subject',
  'status',
  'stream',
  'attempts',
  'created_at',
  'sent_at',
  'bounce_type',
];
const MICROS = `(extract(epoch from created_at) * 1000000)::bigint::text as created_us`;
/** `(created_at, key) < (cursor)` with the cursor's exact microseconds */
export const BEFORE_SQL = `(created_at, ??) < (timestamptz 'epoch' + ?::bigint * interval '1 microsecond', ?)`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toSummary = (r: any): OutboundSummary => ({
  id: r.id,
  recipient: r.recipient_email,
  subject: r.subject,
  status: r.status,
  stream: r.stream,
  attempts: r.attempts,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  bounceType: r.bounce_type,
  createdMicros: r.created_us,
});

export interface OutboundListQuery {
  limit: number;
  statuses?: OutboundStatus[];
  recipient?: string;
  /** the last item of the previous page */
  before?: { micros: string; key: string };
}

/** A mailbox's outbound messages, newest first (created_at, then id, both descending). */
export async function listOutbound(db: Db, mailboxId: string, q: OutboundListQuery): Promise<OutboundSummary[]> {
  const query = db('outbound_messages').where({ mailbox_id: mailboxId });
  if (q.statuses?.length) query.whereIn('status', q.statuses);
  if (q.recipient !== undefined) query.andWhere('recipient_email', q.recipient);
  if (q.before) query.andWhereRaw(BEFORE_SQL, ['id', q.before.micros, q.before.key]);
  const rows = await query
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(q.limit)
    .select([...SUMMARY_COLUMNS, db.raw(MICROS)]);
  return rows.map(toSummary);
}

export interface OutboundDetail extends OutboundSummary {
  sendId: string;
  recipientName: string | null;
  recipientType: RecipientType;
  messageId: string;
  envelopeFrom: string | null;
  smtpResponse: string | null;
  error: string | null;
  nextRetryAt: Date | null;
  failedAt: Date | null;
  bounceDiagnostic: string | null;
  bouncedAt: Date | null;
  openedAt: Date | null;
  clickedAt: Date | null;
  trackOpens: boolean;
  trackClicks: boolean;
  updatedAt: Date;
  fromName: string | null;
  replyTo: string | null;
  to: NamedAddress[];
  cc: NamedAddress[];
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  attachments: Array<{ index: number; filename: string | null; content_type: string; size: number }>;
}

/** One outbound message of this mailbox with its send's content, or undefined (another mailbox's id too). */
export async function getOutbound(db: Db, mailboxId: string, id: string): Promise<OutboundDetail | undefined> {
  const r = await db('outbound_messages as m')
    .join('outbound_sends as s', 's.id', 'm.send_id')
    .where({ 'm.id': id, 'm.mailbox_id': mailboxId })
    .first(
      ...SUMMARY_COLUMNS.map((c) => `m.${c}`),
      db.raw(`(extract(epoch from m.created_at) * 1000000)::bigint::text as created_us`),
      'm.send_id',
      'm.recipient_name',
      'm.recipient_type',
      'm.message_id',
      'm.envelope_from',
      'm.smtp_response',
      'm.error',
      'm.next_retry_at',
      'm.failed_at',
      'm.bounce_diagnostic',
      'm.bounced_at',
      'm.opened_at',
      'm.clicked_at',
      'm.track_opens',
      'm.track_clicks',
      'm.updated_at',
      's.from_name',
      's.reply_to',
      's.to_addresses',
      's.cc_addresses',
      's.text_body',
      's.html_body',
      's.headers',
      's.attachments',
    );
  if (!r) return undefined;
  return {
    ...toSummary(r),
    sendId: r.send_id,
    recipientName: r.recipient_name,
    recipientType: r.recipient_type,
    messageId: r.message_id,
    envelopeFrom: r.envelope_from,
    smtpResponse: r.smtp_response,
    error: r.error,
    nextRetryAt: r.next_retry_at,
    failedAt: r.failed_at,
    bounceDiagnostic: r.bounce_diagnostic,
    bouncedAt: r.bounced_at,
    openedAt: r.opened_at,
    clickedAt: r.clicked_at,
    trackOpens: r.track_opens,
    trackClicks: r.track_clicks,
    updatedAt: r.updated_at,
    fromName: r.from_name,
    replyTo: r.reply_to,
    to: r.to_addresses,
    cc: r.cc_addresses,
    text: r.text_body,
    html: r.html_body,
    headers: r.headers,
    attachments: r.attachments,
  };
}
