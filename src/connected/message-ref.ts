import { BadRequest, NotFound } from '../core/errors.js';

/** A folder name as sent to IMAP: 1–255 bytes of UTF-8, without CR, LF or NUL (they would end the command). */
export function folderParam(value: unknown, fallback = 'INBOX'): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new BadRequest('folder must be given once', 'invalid_folder');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 1 || bytes > 255 || /[\r\n\0]/.test(value))
    throw new BadRequest('folder must be 1-255 bytes without CR, LF or NUL', 'invalid_folder');
  return value;
}

/** Where a message of a connected mailbox is: its folder, the folder's UIDVALIDITY and its UID. */
export interface MessageRef {
  folder: string;
  uidValidity: bigint;
  uid: number;
}

const REF = /^([1-9][0-9]{0,19})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{2,400})$/;

/** The opaque message id: `<uidvalidity>.<uid>.<folder as base64url>`. */
export const encodeMessageRef = (r: MessageRef): string =>
  `${r.uidValidity}.${r.uid}.${Buffer.from(r.folder, 'utf8').toString('base64url')}`;

const notFound = () => new NotFound('message not found', 'message_not_found');

/**
 * A message id read back: anything that is not exactly what encodeMessageRef writes (a UID beyond 2^32 - 1, a folder
 * that is not canonical base64url of valid UTF-8, or one the folder guard refuses) is 404 message_not_found, decided
 * before any connection.
 */
export function decodeMessageRef(id: string): MessageRef {
  const m = REF.exec(id);
  if (!m) throw notFound();
  const uid = Number(m[2]);
  const uidValidity = BigInt(m[1]!);
  if (uid > 0xffffffff || uidValidity > 0xffffffffn) throw notFound();
  const bytes = Buffer.from(m[3]!, 'base64url');
  const folder = bytes.toString('utf8');
  if (bytes.toString('base64url') !== m[3] || Buffer.from(folder, 'utf8').compare(bytes) !== 0) throw notFound();
  try {
    folderParam(folder);
  } catch {
    throw notFound();
  }
  return { folder, uidValidity, uid };
}

/** The list cursor `<uidvalidity>.<uid>`: the last UID of the previous page; 400 invalid_cursor otherwise. */
export function listCursorParam(value: unknown): { uidValidity: bigint; uid: number } | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? /^([1-9][0-9]{0,9})\.([1-9][0-9]{0,9})$/.exec(value) : null;
  if (!m || Number(m[2]) > 0xffffffff)
    throw new BadRequest('cursor must be the X-Next-Cursor of the previous page', 'invalid_cursor');
  return { uidValidity: BigInt(m[1]!), uid: Number(m[2]) };
}
