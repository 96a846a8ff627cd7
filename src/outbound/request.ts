import { z } from 'zod';
import type { NamedAddress, NewAttachment, RecipientType, Stream } from '../store/outbound.js';
import { CONTROL, parseAddress, parseAddressList, recipientKey } from './addresses.js';
import { badSend } from './errors.js';

const addresses = z.union([z.string(), z.array(z.string())]);

/** The body of `POST …/outbound`: unknown fields and wrong types are 400 `invalid_body` (api/body.ts). */
export const SendBody = z.strictObject({
  to: addresses.optional(),
  cc: addresses.optional(),
  bcc: addresses.optional(),
  subject: z.string().min(1, 'required'),
  text: z.string().optional(),
  html: z.string().optional(),
  from_name: z.string().max(256).optional(),
  reply_to: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  attachments: z
    .array(
      z.strictObject({
        filename: z.string().min(1).max(255).optional(),
        content_type: z.string().optional(),
        content_base64: z.string(),
      }),
    )
    .optional(),
  stream: z.enum(['transactional', 'broadcast']).optional(),
  track_opens: z.boolean().optional(),
  track_clicks: z.boolean().optional(),
});
export type SendBody = z.infer<typeof SendBody>;

export const MAX_ATTACHMENTS = 20;
export const MAX_HEADERS = 50;
const HEADER_NAME = /^[A-Za-z0-9-]{1,76}$/;
const RESERVED = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'return-path',
  'mime-version',
  'received',
  'dkim-signature',
]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TOKEN = '[A-Za-z0-9!#$&^_.+-]+';
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/** A send request after every check of the table: what the API stores. */
export interface SendRequest {
  to: NamedAddress[];
  cc: NamedAddress[];
  /** every distinct recipient of to, cc and bcc (case-insensitive), first occurrence wins, in that order */
  recipients: Array<NamedAddress & { type: RecipientType }>;
  subject: string;
  text: string | null;
  html: string | null;
  fromName: string | null;
  replyTo: string | null;
  headers: Record<string, string>;
  attachments: NewAttachment[];
  stream: Stream;
  trackOpens: boolean;
  trackClicks: boolean;
}

function noControl(value: string | undefined, field: string) {
  if (value !== undefined && CONTROL.test(value)) throw badSend('invalid_header', `${field}: CR, LF or NUL`);
}

function checkHeaders(headers: Record<string, string>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw badSend('invalid_header', `headers: at most ${MAX_HEADERS}`);
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name))
      throw badSend('invalid_header', `headers: ${JSON.stringify(name)} is not a header name ([A-Za-z0-9-]{1,76})`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower) || lower.startsWith('content-'))
      throw badSend('invalid_header', `headers: ${name} is set by Mailwright and cannot be given`);
    noControl(value, `headers.${name}`);
  }
  return Object.fromEntries(entries);
}

function checkAttachments(list: NonNullable<SendBody['attachments']>): NewAttachment[] {
  if (list.length > MAX_ATTACHMENTS) throw badSend('invalid_attachment', `attachments: at most ${MAX_ATTACHMENTS}`);
  return list.map((a, i) => {
    noControl(a.filename, `attachments[${i}].filename`);
    noControl(a.content_type, `attachments[${i}].content_type`);
    const contentType = a.content_type ?? 'application/octet-stream';
    if (!CONTENT_TYPE.test(contentType))
      throw badSend('invalid_attachment', `attachments[${i}].content_type: not type/subtype`);
    if (!BASE64.test(a.content_base64))
      throw badSend('invalid_attachment', `attachments[${i}].content_base64: not standard base64`);
    return {
      filename: a.filename ?? null,
      contentType: contentType.toLowerCase(),
      content: Buffer.from(a.content_base64, 'base64'),
    };
  });
}

/**
 * Check a parsed body against the rules of issue 20, in the table's order: `invalid_body` (no recipient, no
 * text/html), `invalid_header` (CR, LF, NUL; header names), `invalid_address`, `too_many_recipients`,
 * `invalid_attachment`. Pure: nothing is stored and no connection is made before all of them pass.
 */
export function checkSendBody(body: SendBody, maxRecipients: number): SendRequest {
  if (body.to === undefined && body.cc === undefined && body.bcc === undefined)
    throw badSend('invalid_body', 'invalid request body: no recipient (to, cc or bcc)');
  if (body.text === undefined && body.html === undefined)
    throw badSend('invalid_body', 'invalid request body: text or html is required');
  for (const [field, v] of [
    ['text', body.text],
    ['html', body.html],
  ] as const)
    if (v?.includes('\u0000'))
      throw badSend('invalid_body', `invalid request body: ${field}: NUL characters are not allowed`);
  noControl(body.subject, 'subject');
  noControl(body.from_name, 'from_name');
  const headers = checkHeaders(body.headers ?? {});
  const to = parseAddressList(body.to, 'to');
  const cc = parseAddressList(body.cc, 'cc');
  const bcc = parseAddressList(body.bcc, 'bcc');
  const replyTo = body.reply_to === undefined ? null : parseAddress(body.reply_to, 'reply_to');
  const seen = new Set<string>();
  const recipients: SendRequest['recipients'] = [];
  for (const [type, list] of [
    ['to', to],
    ['cc', cc],
    ['bcc', bcc],
  ] as const) {
    for (const a of list) {
      const key = recipientKey(a.address);
      if (seen.has(key)) continue;
      seen.add(key);
      recipients.push({ ...a, type });
    }
  }
  if (recipients.length === 0) throw badSend('invalid_body', 'invalid request body: no recipient (to, cc or bcc)');
  if (recipients.length > maxRecipients)
    throw badSend('too_many_recipients', `${recipients.length} recipients; at most ${maxRecipients} per request`);
  return {
    to,
    cc,
    recipients,
    subject: body.subject,
    text: body.text ?? null,
    html: body.html ?? null,
    fromName: body.from_name ?? null,
    replyTo: replyTo && (replyTo.name ? `${replyTo.name} <${replyTo.address}>` : replyTo.address),
    headers,
    attachments: checkAttachments(body.attachments ?? []),
    stream: body.stream ?? 'transactional',
    trackOpens: body.track_opens ?? false,
    trackClicks: body.track_clicks ?? false,
  };
}
