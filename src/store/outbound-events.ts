import { deliveriesToEnqueue } from './events.js';
import { recordOutboundWebhookEvents } from './outbound-webhook-events.js';
import type { Db } from './db.js';

/** The event types of an outbound message (issue 20 writes the first six; bounces and tracking add the rest). */
export type OutboundEventType =
  | 'queued'
  | 'sending'
  | 'deferred'
  | 'sent'
  | 'failed'
  | 'suppressed'
  | 'bounced'
  | 'delivery_delayed'
  | 'opened'
  | 'clicked'
  | 'complained';

export interface NewOutboundEvent {
  outboundMessageId: string;
  type: OutboundEventType;
  payload?: Record<string, unknown>;
  /** default: now() of the transaction */
  occurredAt?: Date;
}

export interface OutboundEvent {
  id: string;
  type: OutboundEventType;
  occurredAt: Date;
  payload: Record<string, unknown>;
}

export interface AppendedOutboundEvents {
  events: Array<OutboundEvent & { outboundMessageId: string }>;
  /**
   * The webhook deliveries written with these events (pending ones only): the caller that owns the webhooks queue
   * enqueues them after its commit (`enqueueWebhookDeliveriesSafely`, queue/webhook-jobs.ts); the webhooks
   * scheduler re-adds any it could not.
   */
  webhookDeliveries: string[];
}

/**
 * THE way a row of `outbound_message_events` is written (the table is append-only): always inside the transaction
 * of the status change it records, so the change and its event commit together. Every writer (the send API, the
 * worker, bounces, tracking) calls this one function. Each webhook-able row is also an `outbound.*` webhook event
 * (and a delivery when the mailbox's webhook subscribes), written set-based in the same transaction: three
 * statements however many rows (a 50-recipient send included).
 */
export async function appendOutboundEvents(trx: Db, events: NewOutboundEvent[]): Promise<AppendedOutboundEvents> {
  if (events.length === 0) return { events: [], webhookDeliveries: [] };
  const rows = await trx('outbound_message_events')
    .insert(
      events.map((e) => ({
        outbound_message_id: e.outboundMessageId,
        type: e.type,
        payload: JSON.stringify(e.payload ?? {}),
        ...(e.occurredAt ? { occurred_at: e.occurredAt } : {}),
      })),
    )
    .returning(['id', 'outbound_message_id', 'type', 'occurred_at', 'payload']);
  const recorded = await recordOutboundWebhookEvents(trx, rows);
  return {
    events: rows.map((r) => ({
      id: String(r.id),
      outboundMessageId: r.outbound_message_id,
      type: r.type,
      occurredAt: r.occurred_at,
      payload: r.payload,
    })),
    webhookDeliveries: deliveriesToEnqueue(recorded),
  };
}

/** One event: {@link appendOutboundEvents} with a single row; the webhook deliveries to enqueue after commit. */
export const appendOutboundEvent = async (trx: Db, event: NewOutboundEvent): Promise<string[]> =>
  (await appendOutboundEvents(trx, [event])).webhookDeliveries;

/** The events of one outbound message, oldest first. */
export async function listOutboundEvents(db: Db, outboundMessageId: string): Promise<OutboundEvent[]> {
  const rows = await db('outbound_message_events')
    .where({ outbound_message_id: outboundMessageId })
    .orderBy('id', 'asc')
    .select('id', 'type', 'occurred_at', 'payload');
  return rows.map((r) => ({ id: String(r.id), type: r.type, occurredAt: r.occurred_at, payload: r.payload }));
}
