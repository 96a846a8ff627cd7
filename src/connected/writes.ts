import type { ImapFlow } from 'imapflow';
import { NotFound } from '../core/errors.js';
import { ImapUnavailable } from './errors.js';
import type { MessageRef } from './message-ref.js';
import { locate } from './reads.js';

/**
 * Delete one message: \Deleted on its UID, then `UID EXPUNGE` of that UID only (UIDPLUS). A plain EXPUNGE would
 * also remove every other message someone flagged \Deleted, so a server without UIDPLUS is refused (502) before any
 * flag is set. A message that is not there is 404 message_not_found.
 */
export async function deleteMessage(client: ImapFlow, ref: MessageRef): Promise<void> {
  await locate(client, ref, true);
  if (!client.capabilities.has('UIDPLUS'))
    throw new ImapUnavailable('the IMAP server does not offer UIDPLUS: it cannot expunge one message alone');
  const found = (await client.search({ uid: String(ref.uid) }, { uid: true })) || [];
  if (!found.includes(ref.uid)) throw new NotFound('message not found', 'message_not_found');
  if (!(await client.messageDelete(String(ref.uid), { uid: true })))
    throw new ImapUnavailable('the IMAP server refused to delete the message');
}
