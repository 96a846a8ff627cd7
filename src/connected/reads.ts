import type { FetchMessageObject, ImapFlow, MessageStructureObject } from 'imapflow';
import type { Readable } from 'node:stream';
import { NotFound } from '../core/errors.js';
import { headerBlock, splitHeaders, type HeaderLimits } from '../extract/headers.js';
import { extractFromMessage, type ExtractLimits } from '../extract/index.js';
import { attachmentStream, attachmentsOf, withBinarySizes } from './attachments.js';
import { encodeMessageRef, type MessageRef } from './message-ref.js';

/** The most bytes of one text part (text/plain or text/html) a message read returns. */
export const TEXT_PART_MAX_BYTES = 2 * 1024 * 1024;

const folderNotFound = (folder: string) => new NotFound(`no folder ${JSON.stringify(folder)}`, 'folder_not_found');

/** Select a folder (read-only unless `write`); a folder that does not exist is 404 folder_not_found. */
async function select(client: ImapFlow, folder: string, write = false) {
  try {
    return await client.mailboxOpen(folder, { readOnly: !write });
  } catch (err) {
    if (
      (err as { mailboxMissing?: boolean }).mailboxMissing ||
      (err as { responseStatus?: string }).responseStatus === 'NO'
    )
      throw folderNotFound(folder);
    throw err;
  }
}

export async function listFolders(client: ImapFlow) {
  const folders = await client.list();
  return folders.map((f) => ({
    path: f.path,
    name: f.name,
    delimiter: f.delimiter ?? null,
    special_use: f.specialUse ?? null,
  }));
}

/** A leaf of the structure that is an attachment: disposition attachment, or not text/* and not multipart. */
function hasAttachment(node: MessageStructureObject | undefined): boolean {
  if (!node) return false;
  if (node.childNodes?.length) return node.childNodes.some(hasAttachment);
  if (node.disposition === 'attachment') return true;
  return !node.type.startsWith('text/') && !node.type.startsWith('multipart/');
}

/** The list item of one message (also the `message` of a connected mailbox's `new_message` event). */
export const summary = (folder: string, uidValidity: bigint, m: FetchMessageObject) => ({
  id: encodeMessageRef({ folder, uidValidity, uid: m.uid }),
  from_address: m.envelope?.from?.[0]?.address ?? null,
  subject: m.envelope?.subject ?? null,
  received_at: m.internalDate ? new Date(m.internalDate).toISOString().replace('Z', '+00:00') : null,
  is_read: m.flags?.has('\\Seen') ?? false,
  has_attachments: hasAttachment(m.bodyStructure),
});

/**
 * One page of a folder (only the unread or the read ones when `unread` is given), highest UID first, below the cursor's UID (a cursor of another UIDVALIDITY starts over).
 * One selective FETCH: UID, FLAGS, INTERNALDATE, BODYSTRUCTURE and the envelope; never a body byte.
 */
export async function listMessages(
  client: ImapFlow,
  folder: string,
  page: { limit: number; cursor?: { uidValidity: bigint; uid: number }; unread?: boolean },
) {
  const box = await select(client, folder);
  // ?unread: SEARCH UNSEEN or SEEN on the server; else ALL
  const query = page.unread === undefined ? { all: true } : { seen: !page.unread };
  const all = (await client.search(query, { uid: true })) || [];
  const below = page.cursor && page.cursor.uidValidity === box.uidValidity ? page.cursor.uid : Infinity;
  const uids = all
    .filter((u) => u < below)
    .sort((a, b) => b - a)
    .slice(0, page.limit);
  if (uids.length === 0) return { items: [], next: undefined };
  const fetched = await client.fetchAll(
    uids.join(','),
    { uid: true, flags: true, internalDate: true, bodyStructure: true, envelope: true },
    { uid: true },
  );
  const items = fetched.sort((a, b) => b.uid - a.uid).map((m) => summary(folder, box.uidValidity, m));
  const more = all.some((u) => u < uids[uids.length - 1]!);
  return { items, next: more ? `${box.uidValidity}.${uids[uids.length - 1]}` : undefined };
}

/** The text parts a message shows: the first text/plain and text/html that are not attachments, by part id. */
function textParts(node: MessageStructureObject | undefined, found: { plain?: string; html?: string } = {}) {
  if (!node) return found;
  if (node.childNodes?.length) {
    for (const child of node.childNodes) textParts(child, found);
    return found;
  }
  if (node.disposition === 'attachment') return found;
  const part = node.part ?? '1';
  if (node.type === 'text/plain' && !found.plain) found.plain = part;
  if (node.type === 'text/html' && !found.html) found.html = part;
  return found;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    if (size + b.length > TEXT_PART_MAX_BYTES) {
      chunks.push(b.subarray(0, TEXT_PART_MAX_BYTES - size));
      stream.destroy();
      break;
    }
    size += b.length;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const messageNotFound = () => new NotFound('message not found', 'message_not_found');

/** Select the message's folder and check its UIDVALIDITY: another value means another message, so 404. */
export async function locate(client: ImapFlow, ref: MessageRef, write: boolean) {
  const box = await select(client, ref.folder, write).catch((err: unknown) => {
    throw err instanceof NotFound ? messageNotFound() : err;
  });
  if (box.uidValidity !== ref.uidValidity) throw messageNotFound();
}

/** The limits of a message read: its header lines as for hosted messages, its codes and links (src/extract). */
export interface ReadLimits {
  headers: HeaderLimits & { maxHeaderBlockBytes: number };
  extract: ExtractLimits;
}

/**
 * One message in two passes: the structure, envelope and header block first, then only its text/plain and
 * text/html parts by part id (never an attachment's bytes). Its `headers`, `codes` and `links` are made as for a
 * hosted message (src/extract). Sets \Seen unless `peek`.
 */
export async function readMessage(client: ImapFlow, ref: MessageRef, peek: boolean, limits: ReadLimits) {
  await locate(client, ref, !peek);
  const m = await client.fetchOne(
    String(ref.uid),
    { uid: true, flags: true, internalDate: true, bodyStructure: true, envelope: true, size: true, headers: true },
    { uid: true },
  );
  if (!m) throw messageNotFound();
  const parts = textParts(m.bodyStructure);
  const text = async (part: string | undefined) => {
    if (!part) return null;
    const d = await client.download(String(ref.uid), part, { uid: true });
    return d.content ? readText(d.content) : null;
  };
  const plain = await text(parts.plain);
  const html = await text(parts.html);
  const attachments = await withBinarySizes(client, ref.uid, attachmentsOf(m.bodyStructure));
  if (!peek && !m.flags?.has('\\Seen')) await client.messageFlagsAdd(String(ref.uid), ['\\Seen'], { uid: true });
  const env = m.envelope;
  const headers = m.headers
    ? splitHeaders(headerBlock(m.headers, limits.headers.maxHeaderBlockBytes), limits.headers)
    : [];
  const { codes, links } = extractFromMessage({ subject: env?.subject ?? null, text: plain, html }, limits.extract);
  const addresses = (list: { name?: string; address?: string }[] | undefined) =>
    (list ?? []).map((a) => ({ address: a.address ?? null, name: a.name || null }));
  return {
    ...summary(ref.folder, ref.uidValidity, m),
    is_read: peek ? (m.flags?.has('\\Seen') ?? false) : true,
    folder: ref.folder,
    from_name: env?.from?.[0]?.name || null,
    to: addresses(env?.to),
    cc: addresses(env?.cc),
    reply_to: addresses(env?.replyTo),
    sent_at: env?.date ? new Date(env.date).toISOString().replace('Z', '+00:00') : null,
    size: m.size ?? null,
    text: plain,
    html,
    headers,
    attachments: attachments.map(({ part: _part, encodedSize: _encoded, ...shown }) => shown),
    codes: codes.map((c) => ({ code: c.code, found_in: c.foundIn, context: c.context })),
    links: links.map((l) => ({ url: l.url, text: l.text, found_in: l.foundIn })),
  };
}

/** The whole message as the server holds it, as a stream (the session ends when the stream does). */
export async function rawMessage(client: ImapFlow, ref: MessageRef): Promise<Readable> {
  await locate(client, ref, false);
  const d = await client.download(String(ref.uid), undefined, { uid: true });
  if (!d.content) throw messageNotFound();
  return d.content;
}

/**
 * Attachment `n` (its index in the message's attachments) decoded, as a stream, with its metadata; a message that
 * is gone is 404 message_not_found, an index it does not have 404 attachment_not_found. Only that part is fetched.
 */
export async function downloadAttachment(client: ImapFlow, ref: MessageRef, n: number) {
  await locate(client, ref, false);
  const m = await client.fetchOne(String(ref.uid), { uid: true, bodyStructure: true }, { uid: true });
  if (!m) throw messageNotFound();
  const a = attachmentsOf(m.bodyStructure)[n];
  if (!a) throw new NotFound('attachment not found', 'attachment_not_found');
  return { attachment: a, content: await attachmentStream(client, ref.uid, a) };
}
