import { toIso } from '../../core/time.js';
import { publishSafely } from '../../pubsub/events.js';
import type { Step, Stored } from '../context.js';

/**
 * (6) after commit: tell stream readers. At-least-once (a re-run job publishes again; readers dedupe
 * on id). A failed publish is logged and counted, never a delivery failure: readers catch up from
 * Postgres with their cursor.
 */
export const publishEvent: Step<Stored, Stored & { published: boolean }> = async (d, { publisher, log, metrics }) => {
  const published = await publishSafely(
    publisher,
    {
      type: 'new_message',
      mailboxId: d.mailbox.id,
      cursor: String(d.seq),
      message: {
        id: d.messageId,
        from_address: d.parsed.fromAddress,
        subject: d.parsed.subject,
        received_at: toIso(d.job.receivedAt),
        has_attachments: d.parsed.attachments.length > 0,
        tag: d.tag,
      },
    },
    log,
  );
  if (!published) metrics.publishFailures.inc();
  return { ...d, published };
};
