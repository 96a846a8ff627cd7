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
