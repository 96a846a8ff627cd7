import type { ImapFlow, MessageStructureObject } from 'imapflow';
import type { Readable } from 'node:stream';
import { NotFound } from '../core/errors.js';

/** One attachment of a connected message, as BODYSTRUCTURE describes it (`part`: its IMAP part id, not shown). */
export interface ConnectedAttachment {
  index: number;
  filename: string | null;
  content_type: string;
  size: number;
  content_id: string | null;
  disposition: string | null;
  part: string;
  encodedSize: number;
}

/**
 * A leaf that is an attachment: disposition attachment, or neither text/* nor multipart/* (an inline image is one).
 * An attached message (message/rfc822) is one attachment: its own parts are not listed.
 */
function isAttachment(node: MessageStructureObject): boolean {
  if (node.disposition === 'attachment') return true;
  return !node.type.startsWith('text/') && !node.type.startsWith('multipart/');
}

function leaves(node: MessageStructureObject | undefined, out: MessageStructureObject[] = []) {
  if (!node) return out;
  if (node.childNodes?.length && node.type !== 'message/rfc822') {
    for (const child of node.childNodes) leaves(child, out);
  } else if (isAttachment(node)) out.push(node);
  return out;
}

/**
 * The decoded size from the encoded one: base64 carries 3 bytes in 4 characters, plus CRLF every 76 characters
 * (the usual line length, counted by the server's size); quoted-printable and the rest are taken as they are.
 */
export function estimatedSize(encodedSize: number, encoding: string | undefined): number {
  if ((encoding ?? '').toLowerCase() !== 'base64') return encodedSize;
  const lines = Math.ceil(encodedSize / 78);
  return Math.max(0, Math.floor(((encodedSize - lines * 2) * 3) / 4));
}

/** The attachments of a structure in MIME order (index 0, 1, ...), sizes estimated from the encoded ones. */
export function attachmentsOf(structure: MessageStructureObject | undefined): ConnectedAttachment[] {
  return leaves(structure).map((node, index) => ({
    index,
    filename: node.dispositionParameters?.filename ?? node.parameters?.name ?? null,
    content_type: node.type,
    size: estimatedSize(node.size ?? 0, node.encoding),
    content_id: node.id ?? null,
    disposition: node.disposition ?? null,
    part: node.part ?? '1',
    encodedSize: node.size ?? 0,
  }));
}

/** imapflow's command runner (internal, untyped): the only IMAP command it has no method for here is BINARY.SIZE. */
interface RawExec {
  exec(
    command: string,
    attributes: unknown[],
    options: { untagged: Record<string, (untagged: { attributes?: unknown[] }) => void> },
  ): Promise<{ next(): void }>;
}

/**
 * Exact decoded sizes from `UID FETCH n (BINARY.SIZE[part] ...)` when the server offers BINARY (RFC 3516); parts
 * it does not answer, or answers with a size above the encoded one, keep their estimate. Any refusal of the command leaves every estimate as it is.
 */
export async function withBinarySizes(client: ImapFlow, uid: number, list: ConnectedAttachment[]) {
  const raw = client as ImapFlow & Partial<RawExec>;
  if (list.length === 0 || !client.capabilities.has('BINARY') || typeof raw.exec !== 'function') return list;
  const sizes = new Map<string, number>();
  const atoms = list.map((a) => ({ type: 'ATOM', value: 'BINARY.SIZE', section: [{ type: 'ATOM', value: a.part }] }));
  try {
    const response = await raw.exec('UID FETCH', [{ type: 'SEQUENCE', value: String(uid) }, atoms], {
      untagged: {
        FETCH: (untagged: { attributes?: unknown[] }) => {
          const pairs = untagged.attributes?.[1];
          if (!Array.isArray(pairs)) return;
          for (let i = 0; i + 1 < pairs.length; i += 2) {
            const key = /^BINARY\.SIZE\[([0-9.]+)\]$/i.exec((pairs[i] as { value?: string }).value ?? '');
            const val = (pairs[i + 1] as { value?: string }).value ?? '';
            if (key && /^[0-9]{1,15}$/.test(val)) sizes.set(key[1]!, Number(val));
          }
        },
      },
    });
    response.next();
  } catch {
    return list;
  }
  // a decoded part is never larger than its encoded form: a larger answer (a server's overflow) is not believed
  return list.map((a) => {
    const size = sizes.get(a.part);
    return size !== undefined && size <= a.encodedSize ? { ...a, size } : a;
  });
}

/** One attachment's decoded bytes as a stream (imapflow fetches it in chunks, waiting for the reader). */
export async function attachmentStream(client: ImapFlow, uid: number, a: ConnectedAttachment): Promise<Readable> {
  const d = await client.download(String(uid), a.part, { uid: true });
  if (!d.content) throw new NotFound('attachment not found', 'attachment_not_found');
  return d.content;
}
