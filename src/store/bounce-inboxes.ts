import type { Db } from './db.js';

/** Active connected mailboxes with a bounce inbox (the poll's list), optionally one address. */
export async function bounceInboxIds(db: Db, address?: string): Promise<{ id: string; address: string }[]> {
  const q = db('mailboxes')
    .where({ kind: 'connected', is_active: true })
    .whereNotNull('bounce_imap_host')
    .whereNotNull('bounce_imap_password_encrypted')
    .orderBy('created_at')
    .select('id', 'address');
  if (address !== undefined) void q.whereRaw('lower(address) = ?', [address.toLowerCase()]);
  return q;
}

/** What the mailbox shows as `bounce_imap.last_poll_at` / `last_poll_result`. */
export async function recordBouncePoll(db: Db, mailboxId: string, result: Record<string, unknown>): Promise<void> {
  await db('mailboxes')
    .where({ id: mailboxId })
    .update({ bounce_last_poll_at: db.fn.now(), bounce_last_poll_result: JSON.stringify(result) });
}
