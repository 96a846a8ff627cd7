import type { Db } from './db.js';
import { recordEvent, type EventInput, type RecordedEvent, type WebhookEventType } from './events.js';

/**
 * `outbound_message_events` rows as `outbound.*` webhook events (issue 22). The outbound worker (issue 20) writes
 * every such row through one function; it calls `recordOutboundWebhookEvent(trx, row.id)` in the same transaction,
 * so each webhook-able row is exactly one event (the unique `events.outbound_message_event_id`).
 */
export interface OutboundEventRow {
  id: string | number;
  outbound_message_id: string;
  type: string;
  occurred_at: Date;
  payload: Record<string, unknown>;
}

export interface OutboundMessageRef {
  id: string;
  mailbox_id: string;
  mailbox_address: string;
  recipient_email: string;
  subject: string;
  message_id: string;
  status: string;
}

/** The outbound event types a webhook can receive; `sending`, `deferred` and `complained` are not among them. */
const WEBHOOK_TYPES: Record<string, WebhookEventType> = {
  queued: 'outbound.queued',
  sent: 'outbound.sent',
  failed: 'outbound.failed',
  bounced: 'outbound.bounced',
  suppressed: 'outbound.suppressed',
  delivery_delayed: 'outbound.delivery_delayed',
  opened: 'outbound.opened',
  clicked: 'outbound.clicked',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The event of one row (pure): `{"outbound":{"id","recipient","subject","message_id","status"}}` plus, where they
 * apply, `error` (failed), `bounce_type` and `diagnostic` (bounced, delivery_delayed), `user_agent` and `first`
 * (opened, clicked) and `url` (clicked). Undefined for a type no webhook receives.
 */
export function outboundWebhookEvent(row: OutboundEventRow, m: OutboundMessageRef): EventInput | undefined {
  const type = WEBHOOK_TYPES[row.type];
  if (!type) return undefined;
  const p = row.payload ?? {};
  const extra: Record<string, unknown> = {};
  if (row.type === 'failed' || row.type === 'suppressed') {
    const error = str(p.error) ?? str(p.reason) ?? str(p.response);
    if (error) extra.error = error;
  }
  if (row.type === 'bounced' || row.type === 'delivery_delayed') {
    if (str(p.bounce_type)) extra.bounce_type = p.bounce_type;
    if (str(p.diagnostic)) extra.diagnostic = p.diagnostic;
  }
  if (row.type === 'opened' || row.type === 'clicked') {
    extra.user_agent = str(p.user_agent) ?? null;
    extra.first = p.first === true;
    if (row.type === 'clicked') extra.url = str(p.url) ?? null;
  }
  return {
    mailboxId: m.mailbox_id,
    mailboxAddress: m.mailbox_address,
    type,
    occurredAt: row.occurred_at,
    outboundMessageEventId: row.id,
    data: {
      outbound: {
        id: m.id,
        recipient: m.recipient_email,
        subject: m.subject,
        message_id: m.message_id,
        status: m.status,
      },
      ...extra,
    },
  };
}

/**
 * In the transaction that appended the `outbound_message_events` row `id` (and changed the message's status):
 * its webhook event and delivery. Undefined when the type is not webhook-able or the event exists already.
 */
export async function recordOutboundWebhookEvent(trx: Db, id: string | number): Promise<RecordedEvent | undefined> {
  const row: (OutboundEventRow & Omit<OutboundMessageRef, 'id'>) | undefined = await trx('outbound_message_events as e')
    .join('outbound_messages as m', 'm.id', 'e.outbound_message_id')
    .join('mailboxes as b', 'b.id', 'm.mailbox_id')
    .where('e.id', id)
    .first(
      'e.id',
      'e.outbound_message_id',
      'e.type',
      'e.occurred_at',
      'e.payload',
      'm.mailbox_id',
      'b.address as mailbox_address',
      'm.recipient_email',
      'm.subject',
      'm.message_id',
      'm.status',
    );
  if (!row) return undefined;
  const input = outboundWebhookEvent(row, { ...row, id: row.outbound_message_id });
  return input ? recordEvent(trx, input) : undefined;
}
