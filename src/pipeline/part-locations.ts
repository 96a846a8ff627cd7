import { createHash } from 'node:crypto';
import { Splitter } from '@zone-eu/mailsplit';
import libbase64 from 'libbase64';
import libqp from 'libqp';
import type { Attachment } from 'mailparser';
import { within } from '../core/timeout.js';
import type { AttachmentPart } from '../store/message-row.js';

/**
 * Where each attachment mailparser found lies in the raw message, so that a download decodes only its own bytes
 * instead of re-parsing the whole message (issue 24: 0.18 s per download of a 1,000-part message).
 *
 * mailparser reads the message through mailsplit's Splitter and feeds an attachment's decoder exactly the `body`
 * chunks of its MIME node; the Splitter's chunks (node headers, bodies, boundaries and the text between) add up to
 * the raw bytes. This walks the same Splitter, counts bytes, picks the nodes mailparser makes attachments of (its
 * own rule, below) and keeps them only if they match its attachments one for one (same count, same part ids).
 * Anything else (and any surprise) records nothing: downloads then re-parse, as before. A download checks the
 * decoded bytes against the MD5 checksum mailparser computed at delivery, and re-parses on a mismatch, so the bytes
 * served are those of the old path either way.
 */

/** The MIME node fields read here (mailsplit's MimeNode). */
interface SplitNode {
  type: 'node';
  root: boolean;
  contentType: string | false;
  disposition: string | false;
  encoding: string | false;
  messageNode?: boolean;
  partNr?: Array<number | string> | false;
  _parentBoundary?: unknown;
  getHeaders(): Buffer;
}
type SplitChunk = SplitNode | { type: 'body' | 'data'; value: Buffer };

/** mailparser's text types (without keepDeliveryStatus): these are text, unless they say they are attachments */
const TEXT_TYPES: unknown[] = ['text/plain', 'text/html', 'message/delivery-status'];

/** mailparser 3.x, mail-parser.js createNode + processChunk: does this node become an attachment? */
export function isAttachmentNode(node: SplitNode): boolean {
  const contentType = !node.contentType && node.root ? 'text/plain' : node.contentType;
  if (/^multipart\//i.test(String(contentType))) return false;
  // an embedded message the splitter parsed into: its parts are visited as nodes of their own
  if (node.contentType === 'message/rfc822' && node.messageNode) return false;
  let disposition = node.disposition;
  if (disposition && !['attachment', 'inline'].includes(disposition)) disposition = 'attachment';
  const effective = !disposition && !TEXT_TYPES.includes(contentType) ? 'attachment' : disposition || 'inline';
  return !TEXT_TYPES.includes(contentType) || effective !== 'inline';
}

/** mailparser's attachment.partId for a node */
const partIdOf = (node: SplitNode) =>
  node._parentBoundary ? (node.partNr || []).filter((nr) => typeof nr === 'number').join('.') || null : null;

interface Located {
  partId: string | null;
  start: number;
  end: number;
  encoding: string;
}

/** Every attachment node of the message with the byte range of its body, or undefined if the bytes do not add up. */
async function splitAttachments(raw: Buffer): Promise<Located[] | undefined> {
  const splitter = new Splitter();
  const found: Located[] = [];
  let offset = 0;
  let open: Located | undefined; // the node whose body chunks come next
  let broken = false;
  const done = new Promise<void>((resolve, reject) => {
    splitter.on('data', (chunk: SplitChunk) => {
      if (chunk.type === 'node') {
        offset += chunk.getHeaders().length;
        const encoding =
          chunk.encoding === 'base64' || chunk.encoding === 'quoted-printable' ? chunk.encoding : 'binary';
        open = { partId: partIdOf(chunk), start: offset, end: offset, encoding };
        if (isAttachmentNode(chunk)) found.push(open);
        return;
      }
      if (chunk.type === 'body') {
        if (!open || open.end !== offset) broken = true;
        offset += chunk.value.length;
        if (open) open.end = offset;
        return;
      }
      open = undefined;
      offset += chunk.value.length;
    });
    // typed with its 'data' event only; it is a Transform
    const events = splitter as unknown as NodeJS.EventEmitter;
    events.once('end', resolve);
    events.once('error', reject);
  });
  splitter.end(raw);
  await done;
  return broken || offset !== raw.length ? undefined : found;
}

/** The charset parameter of an attachment's Content-Type, as the download serves it (and as it always did). */
export const attachmentCharset = (a: Pick<Attachment, 'headers'>): string | null => {
  const type = a.headers.get('content-type') as { params?: Record<string, unknown> } | undefined;
  return typeof type?.params?.charset === 'string' ? type.params.charset : null;
};

/**
 * The locations of mailparser's `attachments` in `raw`, one per attachment in the same order, or null when they
 * cannot be matched (or the walk takes longer than `timeoutMs`).
 */
export async function locateAttachments(
  raw: Buffer,
  attachments: Array<Pick<Attachment, 'headers' | 'partId'>>,
  timeoutMs: number,
): Promise<AttachmentPart[] | null> {
  if (attachments.length === 0) return null;
  const found = await within(splitAttachments(raw), timeoutMs).catch(() => undefined);
  if (!found || found.length !== attachments.length) return null;
  const parts: AttachmentPart[] = [];
  for (const [i, a] of attachments.entries()) {
    const at = found[i]!;
    if (a.partId !== at.partId) return null;
    parts.push({ start: at.start, end: at.end, encoding: at.encoding, charset: attachmentCharset(a) });
  }
  return parts;
}

/** The content of an attachment from its encoded body (the bytes [start, end) of raw), decoded as mailparser does. */
export async function decodePart(body: Buffer, encoding: string): Promise<Buffer> {
  const decoder =
    encoding === 'base64' ? new libbase64.Decoder() : encoding === 'quoted-printable' ? new libqp.Decoder() : undefined;
  if (!decoder) return body;
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    decoder.on('data', (c: Buffer) => chunks.push(c));
    decoder.once('end', () => resolve(Buffer.concat(chunks)));
    decoder.once('error', reject);
  });
  decoder.end(body);
  return done;
}

/** The checksum mailparser stores for an attachment (md5, hex), to check a decoded part against. */
export const partChecksum = (content: Buffer) => createHash('md5').update(content).digest('hex');
