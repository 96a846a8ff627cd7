import { newUlid } from '../core/ids.js';
import type { Db } from './db.js';

/**
 * The event ledger (`events`) and its webhook deliveries (`webhook_deliveries`), written in the transaction of
 * the change they describe (docs/design/connected-outbound-model.md, docs/webhooks.md). Whether the mailbox's
 * webhook subscribes to the type is read in that same statement, never from a cache: an event committed after a
 * `PUT …/webhook` answered is covered. The unique keys of `events` make a fact one event however often it is
 * seen (a re-run job, an expiry seen by the job and the sweep): a second write is a no-op (ON CONFLICT DO NOTHING).
 */
export const WEBHOOK_EVENT_TYPES = [
  'message.received',
  'mailbox.expired',
  'outbound.queued',
  'outbound.sent',
  'outbound.failed',
  'outbound.bounced',
  'outbound.suppressed',
  'outbound.delivery_delayed',
  'outbound.opened',
  'outbound.clicked',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `evt_` + ULID: the webhook-id header (no `.`, as Standard Webhooks needs). */
export const newEventId = () => `evt_${newUlid()}`;

export interface EventInput {
  mailboxId: string;
  mailboxAddress: string;
  type: WebhookEventType;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** the outbound_message_events row this event is 1–1 with */
  outboundMessageEventId?: string | number;
  /** a received message (message.received: one event per message) */
  messageId?: string;
}

export interface RecordedEvent {
  eventId: string;
  seq: number;
  mailboxId: string;
  /** the delivery row written with it (undefined: no webhook subscribes to the type) */
  deliveryId?: string;
  /** true when the delivery is `pending`: the caller enqueues `deliveryId` after commit (webhooks queue) */
  enqueue: boolean;
}

interface Row {
  id: string;
  seq: string;
  mailbox_id: string;
  delivery_id: string | null;
  delivery_status: string | null;
}

/**
 * The part of every event-writing statement that adds deliveries: `ev` (inserted events: id, mailbox_id, type)
 * joined to the mailbox's webhook when it subscribes to the type. A disabled webhook gets a `failed` delivery
 * without attempts, so the operator sees what was missed and can recover it.
 */
export const DELIVERIES_FOR_EVENTS_SQL = `
  hook as (
    select w.id as webhook_id, w.status, ev.id as event_id, ev.mailbox_id
    from ev join mailbox_webhooks w on w.mailbox_id = ev.mailbox_id
    where w.event_types is null or ev.type = any(w.event_types) or ev.type = 'webhook.test'
  ), del as (
    insert into webhook_deliveries (event_id, webhook_id, mailbox_id, status, next_attempt_at, last_error)
    select event_id, webhook_id, mailbox_id,
           case when status = 'enabled' then 'pending' else 'failed' end,
           case when status = 'enabled' then clock_timestamp() end,
           case when status = 'enabled' then null else 'webhook disabled' end
    from hook
    returning id, event_id, status
  )`;

/**
 * Record events in the caller's transaction (or as one statement on a pool): one `events` row each, and its
 * `webhook_deliveries` row when the mailbox's webhook subscribes. Returns only the events written now (a fact
 * already recorded is skipped), in input order. Enqueue the `enqueue: true` deliveries after commit.
 */
export async function recordEvents(
  db: Db,
  inputs: EventInput[],
  /** write only the events a mailbox's webhook subscribes to (what hosted message.received does) */
  opts: { subscribedOnly?: boolean } = {},
): Promise<RecordedEvent[]> {
  if (inputs.length === 0) return [];
  const rows = inputs.map((e, ord) => ({
    ord,
    id: newEventId(),
    mailbox_id: e.mailboxId,
    mailbox_address: e.mailboxAddress,
    type: e.type,
    occurred_at: e.occurredAt.toISOString(),
    data: e.data,
    outbound_message_event_id: e.outboundMessageEventId === undefined ? null : String(e.outboundMessageEventId),
    message_id: e.messageId ?? null,
  }));
  const { rows: out }: { rows: Row[] } = await db.raw(
    `with input as (
       select * from json_to_recordset(?::json) as x(id text, mailbox_id uuid, mailbox_address text,
         type text, occurred_at timestamptz, data jsonb, outbound_message_event_id bigint, message_id text, ord bigint)
     ), ev as (
       insert into events (id, mailbox_id, mailbox_address, type, occurred_at, data, outbound_message_event_id, message_id)
       select id, mailbox_id, mailbox_address, type, occurred_at, data, outbound_message_event_id, message_id
       from input
       where not ?::boolean or exists (
         select 1 from mailbox_webhooks w where w.mailbox_id = input.mailbox_id
           and (w.event_types is null or input.type = any(w.event_types) or input.type = 'webhook.test'))
       order by ord
       on conflict do nothing
       returning id, seq, mailbox_id, type
     ), ${DELIVERIES_FOR_EVENTS_SQL}
     select ev.id, ev.seq, ev.mailbox_id, del.id as delivery_id, del.status as delivery_status
     from ev left join del on del.event_id = ev.id join input on input.id = ev.id
     order by input.ord`,
    [JSON.stringify(rows), opts.subscribedOnly === true],
  );
  return out.map((r) => ({
    eventId: r.id,
    seq: Number(r.seq),
    mailboxId: r.mailbox_id,
    ...(r.delivery_id ? { deliveryId: r.delivery_id } : {}),
    enqueue: r.delivery_status === 'pending',
  }));
}

/** One event (see recordEvents); undefined when this fact was already recorded. */
export async function recordEvent(db: Db, input: EventInput): Promise<RecordedEvent | undefined> {
  return (await recordEvents(db, [input]))[0];
}

/** The deliveries of these recorded events to enqueue after commit. */
export const deliveriesToEnqueue = (recorded: readonly RecordedEvent[]): string[] =>
  recorded.filter((r) => r.enqueue && r.deliveryId).map((r) => r.deliveryId!);
