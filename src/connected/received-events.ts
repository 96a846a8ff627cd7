import type { Db } from '../store/db.js';
import { deliveriesToEnqueue, recordEvents } from '../store/events.js';
import { WATCHED_FOLDER, type InboxItem } from './inbox-feed.js';

/**
 * The `message.received` events of new INBOX messages of a connected mailbox ("connected: when the IDLE watcher sees
 * it", docs/webhooks.md), written only when the mailbox's webhook subscribes, as hosted deliveries do: `data.message`
 * is the list item (`id`, `from_address`, `subject`, `received_at`, `is_read`, `has_attachments`) plus `size` and
 * `folder`, never a body or a header. The event's unique key is (mailbox, message id `<uidvalidity>.<uid>.<folder>`):
 * two watchers, a restart or a lost cursor never record one UID twice. One statement; returns the deliveries to
 * enqueue after it.
 */
export async function recordReceived(
  db: Db,
  mailbox: { id: string; address: string },
  items: readonly InboxItem[],
): Promise<string[]> {
  if (items.length === 0) return [];
  const seenAt = new Date();
  const recorded = await recordEvents(
    db,
    items.map((item) => ({
      mailboxId: mailbox.id,
      mailboxAddress: mailbox.address,
      type: 'message.received' as const,
      occurredAt: seenAt,
      messageId: item.message.id,
      data: { message: { ...item.message, size: item.size, folder: WATCHED_FOLDER } },
    })),
    { subscribedOnly: true },
  );
  return deliveriesToEnqueue(recorded);
}
