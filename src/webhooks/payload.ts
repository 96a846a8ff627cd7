import { toIso } from '../core/time.js';
import type { EventRow } from '../store/webhook-deliveries.js';

/**
 * The JSON body of a webhook (docs/webhooks.md): `id` (= the webhook-id header), `type`, `timestamp` (when it
 * happened), `sequence` (grows with event creation: order by it), `mailbox`, `data`. The same bytes are signed
 * and sent.
 */
export function webhookBody(e: Pick<EventRow, 'id' | 'type' | 'occurred_at' | 'seq' | 'mailbox_address' | 'data'>) {
  return JSON.stringify({
    id: e.id,
    type: e.type,
    timestamp: toIso(e.occurred_at),
    sequence: Number(e.seq),
    mailbox: e.mailbox_address,
    data: e.data,
  });
}
