import type { FoundCode, FoundLink } from '../extract/index.js';
import type { Db } from './db.js';
import { messageDelivery, type DeliveryLimits, type DeliveryOutcome } from './message-delivery.js';
import { messageDeliveryBatch, type BatchItem } from './message-delivery-batch.js';

/** `name` is null when the header gives none (as `from_name`); rows stored before that hold '' (read as null). */
export interface AddressEntry { address: string; name: string | null }
export interface HeaderEntry { name: string; value: string }
export interface AttachmentMeta {
  index: number;
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
  disposition: string | null;
  checksum: string | null;
}

/** An attachment's metadata as stored in `messages.attachments` (JSONB): the data model's snake_case names. */
interface StoredAttachment {
  index: number;
  filename: string | null;
  content_type: string;
  size: number;
  content_id: string | null;
  disposition: string | null;
  checksum: string | null;
}
const toStoredAttachment = (a: AttachmentMeta): StoredAttachment => ({
  index: a.index, filename: a.filename, content_type: a.contentType, size: a.size, content_id: a.contentId, disposition: a.disposition, checksum: a.checksum,
});
const fromStoredAttachment = (a: StoredAttachment): AttachmentMeta => ({
  index: a.index, filename: a.filename, contentType: a.content_type, size: a.size, contentId: a.content_id, disposition: a.disposition, checksum: a.checksum,
});

export interface NewMessage {
  id: string;
  mailboxId: string;
  seq: number;
  ingressId: string;
  /** the recipient's tag (`box+tag@…`), null: none */
  tag: string | null;
  source: string;
  envelopeFrom: string | null;
  envelopeTo: string[];
  messageIdHeader: string | null;
  fromAddress: string | null;
  fromName: string | null;
  to: AddressEntry[];
  cc: AddressEntry[];
  replyTo: AddressEntry[];
  subject: string | null;
  text: string | null;
  html: string | null;
  headers: HeaderEntry[];
  attachments: AttachmentMeta[];
  parseError: string | null;
  sentAt: Date | null;
  codes: FoundCode[];
  links: FoundLink[];
  raw: Buffer;
  receivedAt: Date;
}

export interface MessageSummary {
  id: string;
  seq: number;
  mailboxId: string;
  fromAddress: string | null;
  subject: string | null;
  receivedAt: Date;
  isRead: boolean;
  hasAttachments: boolean;
  tag: string | null;
}

export interface MessageFull extends MessageSummary {
  messageIdHeader: string | null;
  fromName: string | null;
  to: AddressEntry[];
  cc: AddressEntry[];
  replyTo: AddressEntry[];
  text: string | null;
  html: string | null;
  headers: HeaderEntry[];
  attachments: AttachmentMeta[];
  parseError: string | null;
  sentAt: Date | null;
  sizeBytes: number;
  source: string;
  envelopeFrom: string | null;
  codes: FoundCode[];
  links: FoundLink[];
}

/** A message's place in the newest-first list: when it was received, then its seq (ties, same millisecond). */
export interface ListPosition { receivedAt: Date; seq: number }

export interface ListQuery {
  limit: number;
  /**
   * Newest first by `received_at` (then `seq`), strictly after this position in that order (the list's paging
   * cursor). Without `afterSeq`/`ascending`, the list is in this order.
   */
  before?: ListPosition;
  /** only messages committed after this seq */
  afterSeq?: number;
  unreadOnly?: boolean;
  /** oldest first instead of newest first */
  ascending?: boolean;
  /** only messages with this tag */
  tag?: string;
}

export const SUMMARY_COLUMNS = ['id', 'seq', 'mailbox_id', 'from_address', 'subject', 'received_at', 'is_read', 'has_attachments', 'tag'];
const FULL_COLUMNS = [
  ...SUMMARY_COLUMNS, 'message_id_header', 'from_name', 'to_addresses', 'cc_addresses', 'reply_to', 'text_body', 'html_body',
  'headers', 'attachments', 'parse_error', 'sent_at', 'size_bytes', 'source', 'envelope_from', 'codes', 'links',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

export const toSummary = (r: Row): MessageSummary => ({
  id: r.id,
  seq: Number(r.seq),
  mailboxId: r.mailbox_id,
  fromAddress: r.from_address,
  subject: r.subject,
  receivedAt: r.received_at,
  isRead: r.is_read,
  hasAttachments: r.has_attachments,
  tag: r.tag ?? null,
});

const toFull = (r: Row): MessageFull => ({
  ...toSummary(r),
  messageIdHeader: r.message_id_header,
  fromName: r.from_name,
  to: r.to_addresses,
  cc: r.cc_addresses,
  replyTo: r.reply_to,
  text: r.text_body,
  html: r.html_body,
  headers: r.headers,
  attachments: (r.attachments as StoredAttachment[]).map(fromStoredAttachment),
  parseError: r.parse_error,
  sentAt: r.sent_at,
  sizeBytes: r.size_bytes,
  source: r.source,
  envelopeFrom: r.envelope_from,
  codes: r.codes ?? [],
  links: r.links ?? [],
});

/** What an attachment download needs: the raw bytes, and what the delivery parse found in them. */
export interface AttachmentSource { raw: Buffer; attachmentCount: number; parseError: string | null }

export interface MessageStore {
  /** The delivery write: idempotent insert + next seq + quota, atomically (see message-delivery.ts). */
  deliver(m: Omit<NewMessage, 'seq'>, limits: DeliveryLimits): Promise<DeliveryOutcome>;
  /** Many deliveries in one transaction (group commit), all or nothing; outcomes in input order. */
  deliverBatch(items: BatchItem[]): Promise<DeliveryOutcome[]>;
  findByIngress(mailboxId: string, ingressId: string): Promise<{ id: string; seq: number } | undefined>;
  list(mailboxId: string, q: ListQuery): Promise<MessageSummary[]>;
  get(mailboxId: string, id: string): Promise<MessageFull | undefined>;
  markRead(mailboxId: string, id: string): Promise<void>;
  getRaw(mailboxId: string, id: string): Promise<Buffer | undefined>;
  getAttachmentSource(mailboxId: string, id: string): Promise<AttachmentSource | undefined>;
  /** Delete and return its size (for the quota), or undefined. */
  delete(mailboxId: string, id: string): Promise<number | undefined>;
}

const jsonText = (v: unknown) => JSON.stringify(v);

/**
 * The messages row for a new message (column -> value), used by the delivery statements. `encode` turns the
 * jsonb columns' values into what the statement sends: JSON text for a query parameter (the default), or
 * the value itself when the whole row is serialized as JSON (the batch statement).
 */
export const messageRow = (m: NewMessage, encode: (v: unknown) => unknown = jsonText): Record<string, unknown> => ({
  id: m.id,
  mailbox_id: m.mailboxId,
  seq: m.seq,
  ingress_id: m.ingressId,
  tag: m.tag,
  source: m.source,
  envelope_from: m.envelopeFrom,
  envelope_to: encode(m.envelopeTo),
  message_id_header: m.messageIdHeader,
  from_address: m.fromAddress,
  from_name: m.fromName,
  to_addresses: encode(m.to),
  cc_addresses: encode(m.cc),
  reply_to: encode(m.replyTo),
  subject: m.subject,
  text_body: m.text,
  html_body: m.html,
  headers: encode(m.headers),
  attachments: encode(m.attachments.map(toStoredAttachment)),
  has_attachments: m.attachments.length > 0,
  parse_error: m.parseError,
  codes: encode(m.codes),
  links: encode(m.links),
  sent_at: m.sentAt,
  raw: m.raw,
  size_bytes: m.raw.length,
  received_at: m.receivedAt,
});

export function messageStore(db: Db): MessageStore {
  return {
    deliver: messageDelivery(db),
    deliverBatch: messageDeliveryBatch(db),
    async findByIngress(mailboxId, ingressId) {
      const row = await db('messages').where({ mailbox_id: mailboxId, ingress_id: ingressId }).first('id', 'seq');
      return row ? { id: row.id, seq: Number(row.seq) } : undefined;
    },
    async list(mailboxId, q) {
      const query = db('messages').where({ mailbox_id: mailboxId }).select(SUMMARY_COLUMNS).limit(q.limit);
      if (q.unreadOnly) query.andWhere('is_read', false);
      if (q.tag !== undefined) query.andWhere('tag', q.tag);
      if (q.afterSeq !== undefined || q.ascending) {
        // stream replay: commit order, the stream cursor
        if (q.afterSeq !== undefined) query.andWhere('seq', '>', q.afterSeq);
        query.orderBy('seq', q.ascending ? 'asc' : 'desc');
      } else {
        // the list: newest received first. A message can commit after one received later (a retried
        // delivery, a larger message), so commit order (seq) is only the tie-break
        if (q.before) query.andWhereRaw('(received_at, seq) < (?, ?)', [q.before.receivedAt, q.before.seq]);
        query.orderBy([{ column: 'received_at', order: 'desc' }, { column: 'seq', order: 'desc' }]);
      }
      return (await query).map(toSummary);
    },
    async get(mailboxId, id) {
      const row = await db('messages').where({ mailbox_id: mailboxId, id }).first(FULL_COLUMNS);
      return row ? toFull(row) : undefined;
    },
    async markRead(mailboxId, id) {
      await db('messages').where({ mailbox_id: mailboxId, id, is_read: false }).update({ is_read: true });
    },
    async getRaw(mailboxId, id) {
      const row = await db('messages').where({ mailbox_id: mailboxId, id }).first('raw');
      return row ? (row.raw as Buffer) : undefined;
    },
    async getAttachmentSource(mailboxId, id) {
      // the count, not the attachments list: a message can list thousands
      const row = await db('messages').where({ mailbox_id: mailboxId, id })
        .first('raw', 'parse_error', db.raw('jsonb_array_length(attachments) as attachment_count'));
      return row ? { raw: row.raw as Buffer, attachmentCount: Number(row.attachment_count), parseError: row.parse_error } : undefined;
    },
    async delete(mailboxId, id) {
      const rows = await db('messages').where({ mailbox_id: mailboxId, id }).delete().returning('size_bytes');
      return rows.length ? Number((rows[0] as { size_bytes: number }).size_bytes) : undefined;
    },
  };
}
