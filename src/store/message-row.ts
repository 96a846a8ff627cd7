import type { FoundCode, FoundLink } from '../extract/index.js';

/**
 * A new message as the delivery pipeline hands it to the store, and its `messages` row. Apart from messages.ts
 * (which reads messages) so that the delivery statements (message-delivery*.ts) and the message store can
 * both use it without importing each other.
 */
/** `name` is null when the header gives none (as `from_name`); rows stored before that hold '' (read as null). */
export interface AddressEntry {
  address: string;
  name: string | null;
}
export interface HeaderEntry {
  name: string;
  value: string;
}
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
export interface StoredAttachment {
  index: number;
  filename: string | null;
  content_type: string;
  size: number;
  content_id: string | null;
  disposition: string | null;
  checksum: string | null;
}
const toStoredAttachment = (a: AttachmentMeta): StoredAttachment => ({
  index: a.index,
  filename: a.filename,
  content_type: a.contentType,
  size: a.size,
  content_id: a.contentId,
  disposition: a.disposition,
  checksum: a.checksum,
});
export const fromStoredAttachment = (a: StoredAttachment): AttachmentMeta => ({
  index: a.index,
  filename: a.filename,
  contentType: a.content_type,
  size: a.size,
  contentId: a.content_id,
  disposition: a.disposition,
  checksum: a.checksum,
});

/**
 * Where an attachment's body lies in the raw message (`messages.attachment_parts`, one per attachment, same order):
 * bytes [start, end) of `raw`, decoded by its transfer encoding, give the attachment's content.
 */
export interface AttachmentPart {
  start: number;
  end: number;
  /** 'base64', 'quoted-printable', or 'binary' (served as it is) */
  encoding: string;
  /** the part's charset parameter (served in the download's Content-Type), or null */
  charset: string | null;
}

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
  /** where each attachment lies in `raw`; null or absent: not recorded (downloads re-parse) */
  attachmentParts?: AttachmentPart[] | null;
  parseError: string | null;
  sentAt: Date | null;
  codes: FoundCode[];
  links: FoundLink[];
  raw: Buffer;
  receivedAt: Date;
}

const jsonText = (v: unknown) => JSON.stringify(v);

/** What the parse of a message gives: the columns a re-parse rewrites (store/message-reparse.ts). */
export type ParsedFields = Pick<
  NewMessage,
  | 'messageIdHeader'
  | 'fromAddress'
  | 'fromName'
  | 'to'
  | 'cc'
  | 'replyTo'
  | 'subject'
  | 'text'
  | 'html'
  | 'headers'
  | 'attachments'
  | 'attachmentParts'
  | 'parseError'
  | 'codes'
  | 'links'
  | 'sentAt'
>;

/** The parsed columns of a messages row (see messageRow for `encode`). */
export const parsedRow = (m: ParsedFields, encode: (v: unknown) => unknown = jsonText): Record<string, unknown> => ({
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
  attachment_parts: m.attachmentParts ? encode(m.attachmentParts) : null,
  parse_error: m.parseError,
  codes: encode(m.codes),
  links: encode(m.links),
  sent_at: m.sentAt,
});

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
  ...parsedRow(m, encode),
  raw: m.raw,
  size_bytes: m.raw.length,
  received_at: m.receivedAt,
});
