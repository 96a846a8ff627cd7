import type { Logger } from '../core/log.js';
import { publishSafely, type Publisher } from './events.js';

const CHUNK = 500;

/**
 * Tell stream readers that these mailboxes expired. Commands of a chunk go out together (ioredis
 * pipelines concurrent commands on one connection), so 100,000 ids cost 200 round trips, not 100,000.
 * A failed publish is logged and skipped: the expiry itself is committed and enforced by every read.
 */
export async function publishExpired(
  ids: string[],
  { publisher, log }: { publisher: Publisher; log: Logger },
): Promise<number> {
  let published = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const done = await Promise.all(
      ids
        .slice(i, i + CHUNK)
        .map((mailboxId) => publishSafely(publisher, { type: 'mailbox_expired', mailboxId, reason: 'expired' }, log)),
    );
    published += done.filter(Boolean).length;
  }
  return published;
}
