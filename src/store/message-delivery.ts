import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { DELIVERIES_FOR_EVENTS_SQL, newEventId } from './events.js';
import { mailboxEnded } from './mailboxes.js';
import { messageRow, type NewMessage } from './message-row.js';
import { preparedQuery } from './prepared.js';

export type DeliveryOutcome =
  /** `webhookDeliveryId`: a pending message.received delivery to enqueue after commit (docs/webhooks.md) */
  | { status: 'stored'; id: string; seq: number; webhookDeliveryId?: string }
  | { status: 'duplicate'; id: string; seq: number }
  | { status: 'refused'; reason: 'mailbox_inactive' | 'mailbox_expired' | 'mailbox_full' | 'unknown_mailbox' };

export interface DeliveryLimits {
  maxMessages: number;
}

interface DeliveryRow {
  id: string | null;
  seq: number | null;
  dup_id: string | null;
  dup_seq: number | null;
  locked: number;
  updated: number;
  webhook_delivery_id: string | null;
}

/**
 * The `message.received` event of a stored message (docs/webhooks.md): the list item's fields and the size,
 * never the body, headers or attachments. `ins` is the inserted row, `box` the mailbox (its address).
 */
export const RECEIVED_EVENT_DATA_SQL = `jsonb_build_object('message', jsonb_build_object(
  'id', ins.id, 'from_address', ins.from_address, 'subject', ins.subject,
  'received_at', to_char(ins.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
  'has_attachments', ins.has_attachments, 'tag', ins.tag, 'size', ins.size_bytes))`;

/** The statement, with $1 mailbox id, $2 ingress id, $3 max messages, $4 size, $5 the event id, then the row's columns (typed from the table). */
const deliverySql = (columns: string[], types: Map<string, string>) => {
  const values = columns.map((c, i) => {
    const type = types.get(c);
    if (!type) throw new Error(`messages has no column ${c}`);
    return `$${i + 6}::${type}`;
  });
  return `
    with dup as (
      select id, seq from messages where mailbox_id = $1 and ingress_id = $2
    ), box as (
      select id, address, last_seq from mailboxes
      where id = $1 and is_active and (expires_at is null or expires_at > clock_timestamp()) and message_count < $3
        and not exists (select 1 from dup)
      for no key update
    ), ins as (
      insert into messages (seq, ${columns.map((c) => `"${c}"`).join(', ')})
      select box.last_seq + 1, ${values.join(', ')} from box
      on conflict (mailbox_id, ingress_id) do nothing
      returning id, seq, from_address, subject, received_at, has_attachments, tag, size_bytes
    ), upd as (
      update mailboxes set last_seq = ins.seq, message_count = mailboxes.message_count + 1, used_bytes = mailboxes.used_bytes + $4
      from ins where mailboxes.id = $1
      returning mailboxes.id
    ), sub as (
      -- a webhook subscribing to message.received: without one (nearly always) nothing below writes a row
      select 1 from mailbox_webhooks w
      where w.mailbox_id = $1 and exists (select 1 from ins)
        and (w.event_types is null or 'message.received' = any(w.event_types))
    ), ev as (
      insert into events (id, mailbox_id, mailbox_address, type, occurred_at, data, message_id)
      select $5::text, $1, box.address, 'message.received', ins.received_at, ${RECEIVED_EVENT_DATA_SQL}, ins.id
      from ins, box where exists (select 1 from sub)
      on conflict do nothing
      returning id, mailbox_id, type
    ), ${DELIVERIES_FOR_EVENTS_SQL}
    select (select id from ins) as id, (select seq from ins) as seq, (select id from dup) as dup_id, (select seq from dup) as dup_seq,
           (select count(*) from box)::int as locked, (select count(*) from upd)::int as updated,
           (select id from del where status = 'pending') as webhook_delivery_id`;
};

/** The column -> SQL type map of `messages`, read from the table itself (so statements follow migrations). */
export const messageColumnTypes = (db: Db): Promise<Map<string, string>> =>
  db
    .raw(
      `select attname, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = 'messages'::regclass and attnum > 0 and not attisdropped`,
    )
    .then((r: { rows: Array<{ attname: string; type: string }> }) => new Map(r.rows.map((c) => [c.attname, c.type])));

/** Why a delivery that locked nothing was refused (read after the fact; "full" if nothing else applies). */
export async function whyRefused(db: Db, mailboxId: string): Promise<DeliveryOutcome> {
  const row = await db('mailboxes').where({ id: mailboxId }).first('is_active', 'expires_at');
  if (!row) return { status: 'refused', reason: 'unknown_mailbox' };
  const isActive = row.is_active as boolean;
  if (!mailboxEnded({ isActive, expiresAt: row.expires_at as Date | null }))
    return { status: 'refused', reason: 'mailbox_full' };
  // deactivated (deleted, or expired by a job) vs. past its expires_at with no job run yet
  return { status: 'refused', reason: isActive ? 'mailbox_expired' : 'mailbox_inactive' };
}

/**
 * The delivery write as ONE statement (one round trip, one commit, no BEGIN/COMMIT round trips):
 * - `dup`: an already stored (mailbox, ingress id) is reported, nothing else happens (idempotency);
 * - `box`: otherwise the mailbox row is locked (FOR NO KEY UPDATE) if it is active, unexpired and under
 *   quota; a concurrent delivery to the same mailbox waits here, then sees the row as that one left it,
 *   so sequence numbers commit in order and the count can never pass the limit;
 * - `ins`: the message is inserted with seq = last_seq + 1; a concurrent twin that committed first
 *   makes it a no-op (the unique (mailbox_id, ingress_id) key, not luck);
 * - `upd`: the counters move only when the row was inserted, in the same atomic statement;
 * - `sub`, `ev`, `hook`, `del`: when the mailbox's webhook subscribes to message.received, its event and
 *   delivery (store/events.ts), in the same commit; otherwise one probe of mailbox_webhooks' unique index.
 * It runs as a named prepared statement (see prepared.ts): planning this statement costs more than
 * executing it, so each connection plans it once (see docs/benchmarks/2026-11-23.md).
 */
export function messageDelivery(db: Db) {
  let prepared: Promise<{ name: string; text: string; columns: string[] }> | undefined;
  const prepare = (columns: string[]) =>
    (prepared ??= messageColumnTypes(db)
      .then((types) => {
        const text = deliverySql(columns, types);
        return { name: `mw_deliver_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`, text, columns };
      })
      .catch((err: unknown) => {
        prepared = undefined;
        throw err;
      }));

  const run = async (values: unknown[], columns: string[]): Promise<DeliveryRow> => {
    const { name, text } = await prepare(columns);
    return (await preparedQuery<DeliveryRow>(db, name, text, values))[0]!;
  };

  return async function deliver(m: Omit<NewMessage, 'seq'>, limits: DeliveryLimits): Promise<DeliveryOutcome> {
    const row = messageRow({ ...m, seq: 0 });
    delete row.seq;
    const columns = Object.keys(row);
    const r = await run(
      [m.mailboxId, m.ingressId, limits.maxMessages, m.raw.length, newEventId(), ...Object.values(row)],
      columns,
    );
    if (r.id !== null && r.seq !== null) {
      if (r.updated !== 1) throw new Error(`delivery of ${m.ingressId} inserted without moving the mailbox counters`);
      return {
        status: 'stored',
        id: r.id,
        seq: Number(r.seq),
        ...(r.webhook_delivery_id ? { webhookDeliveryId: r.webhook_delivery_id } : {}),
      };
    }
    if (r.dup_id !== null) return { status: 'duplicate', id: r.dup_id, seq: Number(r.dup_seq) };
    if (r.locked === 1) {
      // a concurrent twin committed between our snapshot and our insert: it is the stored copy
      const twin = await db('messages').where({ mailbox_id: m.mailboxId, ingress_id: m.ingressId }).first('id', 'seq');
      if (!twin) throw new Error(`insert of ${m.ingressId} conflicted but no stored twin was found`);
      return { status: 'duplicate', id: twin.id as string, seq: Number(twin.seq) };
    }
    return whyRefused(db, m.mailboxId);
  };
}
