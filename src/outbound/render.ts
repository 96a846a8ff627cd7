import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { StoredSend } from '../store/outbound-delivery.js';

/** What a tracking transform is told about the copy it rewrites (issue 22). */
export interface HtmlContext {
  outboundMessageId: string;
  sendId: string;
  trackOpens: boolean;
  trackClicks: boolean;
}

export interface RenderOptions {
  /** the mailbox address: always the From (with `from_name` as its display name) */
  from: string;
  /**
   * Issue 22's hook: rewrites the HTML part of one recipient's copy (tracking pixel, click links). Applied only
   * when the message has track_opens or track_clicks set.
   */
  transformHtml?: (html: string, ctx: HtmlContext) => string;
  tracking?: { enabled: boolean; ctx: HtmlContext };
}

/**
 * The MIME bytes of a send, built from its stored parts. Message-ID and Date are the send's, and the multipart
 * boundaries derive from the send id, so every build of one send is the same bytes: a retry, or the copy a
 * recovering worker sends, is byte-identical. There is no Bcc header (Bcc recipients get the same bytes). Files
 * and URLs are never read: attachments are the stored bytes.
 */
export async function renderMime(send: StoredSend, opts: RenderOptions): Promise<Buffer> {
  const html =
    send.html !== null && opts.transformHtml && opts.tracking?.enabled
      ? opts.transformHtml(send.html, opts.tracking.ctx)
      : send.html;
  const composer = new MailComposer({
    from: send.fromName ? { name: send.fromName, address: opts.from } : opts.from,
    to: send.to.map((a) => (a.name ? { name: a.name, address: a.address } : a.address)),
    cc: send.cc.map((a) => (a.name ? { name: a.name, address: a.address } : a.address)),
    ...(send.replyTo ? { replyTo: send.replyTo } : {}),
    subject: send.subject,
    ...(send.text !== null ? { text: send.text } : {}),
    ...(html !== null ? { html } : {}),
    headers: send.headers,
    attachments: send.attachments.map((a) => ({
      ...(a.filename ? { filename: a.filename } : { filename: false as const }),
      contentType: a.contentType,
      content: a.content,
    })),
    messageId: send.messageId,
    date: send.date,
    baseBoundary: createHash('sha256').update(`boundary:${send.id}`).digest('hex').slice(0, 24),
    boundaryPrefix: '--_MW',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

/** Bytes of a string as UTF-8. */
const utf8 = (s: string | null | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);

/**
 * An upper bound on the size of `renderMime(send)` without building it (the send API checks
 * OUTBOUND_MAX_MESSAGE_BYTES with it and builds the message only when the bound is over the limit). Text, HTML and
 * every header value are counted at quoted-printable's worst case (each byte as `=XX`, plus soft line breaks and
 * encoded-word framing: × 3.5), attachments at base64 with CRLF every 76 characters, plus a fixed allowance per part
 * for its headers and boundary. test/unit/outbound-render.test.ts checks it is never below the built size.
 */
export function renderedSizeBound(send: Omit<StoredSend, 'id' | 'messageId' | 'date'>, from: string): number {
  const PART = 512; // boundary lines, Content-Type/-Transfer-Encoding/-Disposition of one part
  const worst = (n: number) => Math.ceil(n * 3.5) + 64;
  const base64 = (n: number) => Math.ceil((Math.ceil(n / 3) * 4 * 78) / 76) + 2;
  let bytes = 2048; // Message-ID, Date, MIME-Version, the top Content-Type and the fixed header names
  bytes += worst(utf8(from) + utf8(send.fromName) + utf8(send.replyTo) + utf8(send.subject));
  for (const a of [...send.to, ...send.cc]) bytes += worst(utf8(a.address) + utf8(a.name)) + 4;
  for (const [k, v] of Object.entries(send.headers)) bytes += worst(utf8(k) + utf8(v)) + 4;
  for (const body of [send.text, send.html]) if (body !== null) bytes += PART + worst(utf8(body));
  for (const a of send.attachments)
    bytes += PART + worst(utf8(a.filename) * 2 + utf8(a.contentType)) + base64(a.content.length);
  return bytes;
}
