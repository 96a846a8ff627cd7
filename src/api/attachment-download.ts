import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { headCodePoints } from '../core/text.js';
import { extractAttachment } from '../pipeline/parse.js';
import { decodePart, partChecksum } from '../pipeline/part-locations.js';
import type { AttachmentMeta, AttachmentPart } from '../store/message-row.js';
import type { MessageStore } from '../store/messages.js';

export interface AttachmentDownloadDeps {
  config: Config;
  log: Logger;
  messages: Pick<MessageStore, 'getAttachmentSource' | 'getRawRange' | 'getRaw'>;
}

export interface AttachmentRequest {
  mailboxId: string;
  messageId: string;
  index: number;
}

export interface Download {
  filename: string | null;
  contentType: string;
  charset: string | null;
  content: Buffer;
}

/**
 * Attachment `index` of a stored message: null when the message does not exist (404 message_not_found), undefined
 * when the attachment does not (404 attachment_not_found). The index must exist in what the delivery parse stored:
 * a message the parser gave up on (`parse_error`) lists none, and is not handed to the parser again on every
 * download, since a re-parse that times out keeps using CPU after we stop waiting for it.
 *
 * Where the delivery recorded the attachment's place in the raw message (`attachment_parts`), only those bytes are
 * read (Postgres cuts them out) and decoded: the cost follows the attachment, not the message. Their MD5 must match
 * the checksum the delivery parse stored; otherwise, and for messages stored without places, the message is
 * re-parsed as before. Either way the bytes are those mailparser gives.
 */
export async function findAttachment(
  deps: AttachmentDownloadDeps,
  req: AttachmentRequest,
): Promise<Download | null | undefined> {
  const source = await deps.messages.getAttachmentSource(req.mailboxId, req.messageId, req.index);
  if (!source) return null;
  if (source.parseError !== null) {
    deps.log.info({ event: 'attachment.unavailable', ...req, reason: 'stored with a parse error' });
    return undefined;
  }
  if (!(req.index >= 0 && req.index < source.attachmentCount)) return undefined;
  if (source.attachment && source.part) {
    const direct = await fromPart(deps, req, source.attachment, source.part);
    if (direct) return direct;
  }
  const raw = await deps.messages.getRaw(req.mailboxId, req.messageId);
  return raw ? reparse(deps, raw, req) : null;
}

/** The attachment from its own bytes, or undefined when they do not give what the delivery parse found. */
async function fromPart(
  deps: AttachmentDownloadDeps,
  req: AttachmentRequest,
  meta: AttachmentMeta,
  part: AttachmentPart,
) {
  const body = await deps.messages.getRawRange(req.mailboxId, req.messageId, part.start, part.end);
  if (!body) return undefined;
  const content = await decodePart(body, part.encoding);
  if (meta.checksum === null || partChecksum(content) !== meta.checksum) {
    deps.log.warn({ event: 'attachment.part_mismatch', ...req, size: content.length, expected: meta.size });
    return undefined;
  }
  return { filename: meta.filename, contentType: meta.contentType, charset: part.charset, content };
}

/**
 * Re-read the attachment under the worker's parse time limit. A failure or a timeout is a 404 like a
 * missing index, never a 500 or a hung request; the log line names the message, never its content.
 */
async function reparse(deps: AttachmentDownloadDeps, raw: Buffer, req: AttachmentRequest) {
  try {
    return await extractAttachment(raw, req.index, deps.config.worker.parseTimeoutMs);
  } catch (err) {
    const reason = headCodePoints((err as Error).message, deps.config.parse.maxErrorNoteChars);
    deps.log.warn({ event: 'attachment.parse_failed', ...req, reason });
    return undefined;
  }
}
