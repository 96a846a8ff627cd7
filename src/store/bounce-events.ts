import { appendOutboundEvent } from './outbound-events.js';
import type { Db } from './db.js';

/**
 * The one place bounces write an `outbound_message_events` row (append-only: a trigger refuses UPDATE). Kept as
 * its own function so it can point at the outbound store's event writer once both exist (issue 20 and 21).
 * Returns the webhook deliveries of the event (outbound.bounced / delivery_delayed) to enqueue after commit.
 */
export async function appendBounceEvent(
  db: Db,
  outboundMessageId: string,
  type: 'bounced' | 'delivery_delayed' | 'complained',
  payload: Record<string, unknown>,
): Promise<string[]> {
  return appendOutboundEvent(db, { outboundMessageId, type, payload });
}
