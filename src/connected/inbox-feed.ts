import type { ImapFlow } from 'imapflow';
import { BadRequest } from '../core/errors.js';
import type { Mailbox } from '../store/mailboxes.js';
import { summary } from './reads.js';
import { withImap, type BridgeDeps } from './session.js';

/** The one folder the watcher, the streams and `?wait=` follow (IDLE watches one folder per connection). */
export const WATCHED_FOLDER = 'INBOX';

/** A connected mailbox's list item, as GET …/messages shows it and `new_message` carries it. */
export type ConnectedItem = ReturnType<typeof summary>;

/** One new message of the INBOX: its UID, its stream cursor `<uidvalidity>.<uid>`, its list item and its size. */
export interface InboxItem {
  uid: number;
  cursor: string;
  message: ConnectedItem;
  /** RFC822.SIZE in bytes (the message.received webhook carries it) */
  size: number;
}

/** A position in a connected INBOX: `<uidvalidity>.<uid>` (uid 0: before the first message). */
export interface InboxCursor {
  uidValidity: bigint;
  uid: number;
}

export const inboxCursor = (c: InboxCursor): string => `${c.uidValidity}.${c.uid}`;

/**
 * A stream cursor or `since` of a connected mailbox read back: `<uidvalidity>.<uid>` with a UIDVALIDITY of 1 to
 * 2^32 - 1 and a UID of 0 to 2^32 - 1; anything else is 400 `invalid_cursor`, as for hosted mailboxes.
 */
export function inboxCursorParam(value: unknown, name: string): InboxCursor | undefined {
  if (value === undefined || value === '') return undefined;
  const m = typeof value === 'string' ? /^([1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$/.exec(value) : null;
  const uidValidity = m ? BigInt(m[1]!) : 0n;
  const uid = m ? Number(m[2]) : -1;
  if (!m || uidValidity > 0xffffffffn || uid > 0xffffffff)
    throw new BadRequest(`${name} must be a cursor of this mailbox: <uidvalidity>.<uid>`, 'invalid_cursor');
  return { uidValidity, uid };
}

/** What a list item is fetched with: UID, FLAGS, INTERNALDATE, RFC822.SIZE, BODYSTRUCTURE and the envelope (headers): never a body byte. */
const ITEM_QUERY = {
  uid: true,
  flags: true,
  internalDate: true,
  size: true,
  bodyStructure: true,
  envelope: true,
} as const;

/**
 * The messages of the selected folder above `afterUid`, lowest UID first, at most `limit` (one SEARCH, then one
 * FETCH of the items' headers and BODYSTRUCTURE). `search` narrows them further on the server (SUBJECT, FROM, UNSEEN).
 */
export async function itemsAbove(
  client: ImapFlow,
  folder: string,
  uidValidity: bigint,
  afterUid: number,
  limit: number,
  search: Record<string, unknown> = {},
  order: 'ascending' | 'descending' = 'ascending',
): Promise<InboxItem[]> {
  const found = (await client.search({ ...search, uid: `${afterUid + 1}:*` }, { uid: true })) || [];
  // `n:*` also matches the highest message when every UID is below n (RFC 3501 ranges are unordered)
  const above = found.filter((u) => u > afterUid).sort((a, b) => (order === 'ascending' ? a - b : b - a));
  const uids = above.slice(0, limit);
  if (uids.length === 0) return [];
  const fetched = await client.fetchAll(uids.join(','), ITEM_QUERY, { uid: true });
  return fetched
    .sort((a, b) => (order === 'ascending' ? a.uid - b.uid : b.uid - a.uid))
    .map((m) => ({
      uid: m.uid,
      cursor: inboxCursor({ uidValidity, uid: m.uid }),
      message: summary(folder, uidValidity, m),
      size: m.size ?? 0,
    }));
}

/**
 * The INBOX now (EXAMINE: read-only, no flag changes): its UIDVALIDITY, the last UID it has given out (UIDNEXT - 1)
 * and, after a cursor of the same UIDVALIDITY, up to `limit` messages above it in UID order. A cursor of another
 * UIDVALIDITY (the folder was recreated) replays nothing: its UIDs name other messages.
 */
export async function inboxAfter(client: ImapFlow, after: InboxCursor | undefined, limit: number) {
  const box = await client.mailboxOpen(WATCHED_FOLDER, { readOnly: true });
  const uidValidity = box.uidValidity;
  const lastUid = Math.max(0, Number(box.uidNext ?? 1) - 1);
  if (!after || after.uidValidity !== uidValidity || after.uid >= lastUid)
    return { uidValidity, lastUid, items: [] as InboxItem[] };
  return { uidValidity, lastUid, items: await itemsAbove(client, WATCHED_FOLDER, uidValidity, after.uid, limit) };
}

/** The INBOX of a connected mailbox as the streams read it: one IMAP session per call (LOGOUT on every path). */
export interface ConnectedInbox {
  after(
    mailbox: Mailbox,
    after: InboxCursor | undefined,
    limit: number,
  ): Promise<{ uidValidity: bigint; lastUid: number; items: InboxItem[] }>;
}

export const connectedInbox = (deps: BridgeDeps): ConnectedInbox => ({
  after: (mailbox, after, limit) => withImap(deps, mailbox, (client) => inboxAfter(client, after, limit)),
});

/** What `?wait=` looks for in a connected INBOX (the hosted wait's filters that apply to IMAP). */
export interface InboxFilter {
  /** case-insensitive substrings of the subject and of the sender's address */
  subject?: string;
  from?: string;
  /** only messages above this cursor (same UIDVALIDITY; another one: the whole INBOX) */
  since?: InboxCursor;
  unreadOnly: boolean;
  limit: number;
}

const contains = (value: string | null, part: string | undefined) =>
  part === undefined || (value ?? '').toLowerCase().includes(part.toLowerCase());

/**
 * The INBOX's messages matching a wait's filter, highest UID first, at most `limit`: SEARCH on the server (SUBJECT,
 * FROM, UNSEEN, the UID range above `since`), then the items' headers and BODYSTRUCTURE. IMAP's FROM also matches
 * the sender's name: the items are kept only when their address matches, as for hosted mailboxes.
 */
export async function searchInbox(client: ImapFlow, f: InboxFilter): Promise<InboxItem[]> {
  const box = await client.mailboxOpen(WATCHED_FOLDER, { readOnly: true });
  const after = f.since && f.since.uidValidity === box.uidValidity ? f.since.uid : 0;
  const search = {
    ...(f.subject !== undefined ? { subject: f.subject } : {}),
    ...(f.from !== undefined ? { from: f.from } : {}),
    ...(f.unreadOnly ? { seen: false } : {}),
  };
  const items = await itemsAbove(client, WATCHED_FOLDER, box.uidValidity, after, f.limit, search, 'descending');
  return items.filter((i) => contains(i.message.subject, f.subject) && contains(i.message.from_address, f.from));
}
