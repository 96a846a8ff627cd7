import type { Db } from './db.js';
import { appendOutboundEvent } from './outbound-events.js';

/** Per outbound message: at most this many opened + clicked events, and one `opened` a minute. */
export const TRACKING_EVENTS_MAX = 100;
export const OPEN_EVENT_INTERVAL_MS = 60_000;

export interface TrackingHit {
  recorded: boolean;
  first: boolean;
  /** webhook deliveries to enqueue after commit */
  webhookDeliveries: string[];
}

/**
 * A tracking pixel fetched or a tracked link followed: one `opened`/`clicked` row in `outbound_message_events`
 * (user agent and URL, never the IP), the first sets `opened_at`/`clicked_at`, and its `outbound.*` webhook
 * event, in one transaction. The message row is locked, so the caps (TRACKING_EVENTS_MAX in all, one opened per
 * OPEN_EVENT_INTERVAL_MS) hold under concurrent hits. A message that no longer exists records nothing.
 */
export async function recordTrackingHit(
  db: Db,
  hit: { messageId: string; kind: 'opened' | 'clicked'; userAgent: string | null; url?: string },
): Promise<TrackingHit> {
  const none: TrackingHit = { recorded: false, first: false, webhookDeliveries: [] };
  return db.transaction(async (trx) => {
    const m: { opened_at: Date | null; clicked_at: Date | null } | undefined = await trx('outbound_messages')
      .where({ id: hit.messageId })
      .forUpdate()
      .first('opened_at', 'clicked_at');
    if (!m) return none;
    const counts: { n: number; last_open: Date | null } = await trx('outbound_message_events')
      .where({ outbound_message_id: hit.messageId })
      .whereIn('type', ['opened', 'clicked'])
      .select(trx.raw('count(*)::int as n'), trx.raw(`max(occurred_at) filter (where type = 'opened') as last_open`))
      .first();
    if (counts.n >= TRACKING_EVENTS_MAX) return none;
    if (hit.kind === 'opened' && counts.last_open && Date.now() - counts.last_open.getTime() < OPEN_EVENT_INTERVAL_MS)
      return none;
    const column = hit.kind === 'opened' ? 'opened_at' : 'clicked_at';
    const first = m[column] === null;
    if (first)
      await trx('outbound_messages')
        .where({ id: hit.messageId })
        .update({ [column]: trx.fn.now() });
    const webhookDeliveries = await appendOutboundEvent(trx, {
      outboundMessageId: hit.messageId,
      type: hit.kind,
      payload: { user_agent: hit.userAgent, first, ...(hit.kind === 'clicked' ? { url: hit.url } : {}) },
    });
    return { recorded: true, first, webhookDeliveries };
  });
}
