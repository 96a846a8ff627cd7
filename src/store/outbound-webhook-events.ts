import type { Db } from './db.js';
import { recordEvents, type EventInput, type RecordedEvent, type WebhookEventType } from './events.js';

/**
 * `outbound_message_events` rows as `outbound.*` webhook events (issue 22). Every writer of such rows (the send
 * API, the outbound worker, bounces, tracking) goes through `appendOutboundEvents` (outbound-events.ts), which calls
 * `recordOutboundWebhookEvents(trx, rows)` in the same transaction, so each webhook-able row is exactly one event
 * (the unique `events.outbound_message_event_id`).
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
    // the bounces' `bounced` event stores the class as `type` (store/bounces.ts); `bounce_type` is accepted too
    const bounceType = str(p.bounce_type) ?? (row.type === 'bounced' ? str(p.type) : undefined);
    if (bounceType) extra.bounce_type = bounceType;
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
 * In the transaction that appended these `outbound_message_events` rows (and changed their messages' status): their
 * webhook events and deliveries, set-based whatever the number of rows: one query reads the messages and mailboxes
 * of all rows, one statement writes every event and delivery (store/events.ts). Rows of a type no webhook receives
 * and rows already recorded (a re-run) write nothing. Returns what was written; the caller enqueues
 * `deliveriesToEnqueue(...)` after its commit.
 */
export async function recordOutboundWebhookEvents(
  trx: Db,
  rows: readonly OutboundEventRow[],
): Promise<RecordedEvent[]> {
  const hookable = rows.filter((r) => WEBHOOK_TYPES[r.type] !== undefined);
  if (hookable.length === 0) return [];
  const ids = [...new Set(hookable.map((r) => r.outbound_message_id))];
  const refs: OutboundMessageRef[] = await trx('outbound_messages as m')
    .join('mailboxes as b', 'b.id', 'm.mailbox_id')
    .whereIn('m.id', ids)
    .select(
      'm.id',
      'm.mailbox_id',
      'b.address as mailbox_address',
      'm.recipient_email',
      'm.subject',
      'm.message_id',
      'm.status',
    );
  const byId = new Map(refs.map((m) => [m.id, m]));
  const inputs: EventInput[] = [];
  for (const row of hookable) {
    const m = byId.get(row.outbound_message_id);
    const input = m && outboundWebhookEvent(row, m);
    if (input) inputs.push(input);
  }
  return recordEvents(trx, inputs);
}
