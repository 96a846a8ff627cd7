import type { FoundCode, FoundLink } from '../extract/index.js';
import type { Db } from './db.js';
import {
  fromStoredAttachment,
  type AddressEntry,
  type AttachmentMeta,
  type AttachmentPart,
  type HeaderEntry,
  type NewMessage,
  type StoredAttachment,
} from './message-row.js';
import { messageDelivery, type DeliveryLimits, type DeliveryOutcome } from './message-delivery.js';
import { messageDeliveryBatch, type BatchItem } from './message-delivery-batch.js';

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
export interface ListPosition {
  receivedAt: Date;
  seq: number;
}

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

export const SUMMARY_COLUMNS = [
  'id',
  'seq',
  'mailbox_id',
  'from_address',
  'subject',
  'received_at',
  'is_read',
  'has_attachments',
  'tag',
];
const FULL_COLUMNS = [
  ...SUMMARY_COLUMNS,
  'message_id_header',
  'from_name',
  'to_addresses',
  'cc_addresses',
  'reply_to',
  'text_body',
  'html_body',
  'headers',
  'attachments',
  'parse_error',
  'sent_at',
  'size_bytes',
  'source',
  'envelope_from',
  'codes',
  'links',
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

/**
 * What an attachment download needs from the row, without its raw bytes: what the delivery parse found (the
 * attachment's metadata and, when recorded, where its body lies in `raw`; attachment-parts.ts).
 */
export interface AttachmentSource {
  attachmentCount: number;
  parseError: string | null;
  /** the requested attachment's stored metadata; undefined: no such index */
  attachment?: AttachmentMeta;
  /** where it lies in `raw`; undefined: not recorded (a message stored before, or one the walk could not match) */
  part?: AttachmentPart;
}

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
  getAttachmentSource(mailboxId: string, id: string, index: number): Promise<AttachmentSource | undefined>;
  /** bytes [start, end) of a message's raw bytes (an attachment's body), read in Postgres, not in Node */
  getRawRange(mailboxId: string, id: string, start: number, end: number): Promise<Buffer | undefined>;
  /** Delete and return its size (for the quota), or undefined. */
  delete(mailboxId: string, id: string): Promise<number | undefined>;
}

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
        query.orderBy([
          { column: 'received_at', order: 'desc' },
          { column: 'seq', order: 'desc' },
        ]);
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
    async getAttachmentSource(mailboxId, id, index) {
      // the count and one element, not the attachments list or the raw bytes: a message can list thousands
      const row = await db('messages')
        .where({ mailbox_id: mailboxId, id })
        .first(
          'parse_error',
          db.raw('jsonb_array_length(attachments) as attachment_count'),
          db.raw('attachments -> ?::int as attachment', [index]),
          db.raw('attachment_parts -> ?::int as part', [index]),
        );
      if (!row) return undefined;
      const attachment = row.attachment as StoredAttachment | null;
      return {
        attachmentCount: Number(row.attachment_count),
        parseError: row.parse_error,
        attachment: attachment && index >= 0 ? fromStoredAttachment(attachment) : undefined,
        part: (row.part as AttachmentPart | null) ?? undefined,
      };
    },
    async getRawRange(mailboxId, id, start, end) {
      const row = await db('messages')
        .where({ mailbox_id: mailboxId, id })
        .first(db.raw('substring(raw from ?::int + 1 for ?::int) as bytes', [start, end - start]));
      return row ? (row.bytes as Buffer) : undefined;
    },
    async delete(mailboxId, id) {
      const rows = await db('messages').where({ mailbox_id: mailboxId, id }).delete().returning('size_bytes');
      return rows.length ? Number((rows[0] as { size_bytes: number }).size_bytes) : undefined;
    },
  };
}
