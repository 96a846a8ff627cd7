import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { DELIVERIES_FOR_EVENTS_SQL, newEventId } from './events.js';
import { RECEIVED_EVENT_DATA_SQL, whyRefused, type DeliveryLimits, type DeliveryOutcome } from './message-delivery.js';
import { messageRow, type NewMessage } from './message-row.js';
import { preparedQuery } from './prepared.js';

export interface BatchItem {
  message: Omit<NewMessage, 'seq'>;
  limits: DeliveryLimits;
}

interface BatchRow {
  ord: number;
  stored_seq: number | null;
  dup_id: string | null;
  dup_seq: number | null;
  locked: boolean;
  guard: number | null;
  webhook_delivery_id: string | null;
}

/**
 * Many deliveries as ONE statement (one round trip, one commit: group commit), with the guarantees of
 * the one-item statement (message-delivery.ts) per item. $1 holds each item's message limit, $2 the raw
 * bytes of every item back to back (one bytea, sent in binary: an array of bytea would travel as escaped
 * hex text), $3 every other column of every item as one JSON array of rows (read with
 * json_populate_recordset, so each value gets its column's type; one JSON.stringify instead of escaping an
 * array literal per column), $4 and $5 each item's offset and length in $2. Items are numbered in input
 * (arrival) order.
 * - `cand`: items whose (mailbox, ingress id) is not stored yet; of twins inside the batch the first;
 * - `box`: the mailbox rows of those items that are active and unexpired, locked (FOR NO KEY UPDATE)
 *   in id order, so concurrent batches take row locks in one global order and cannot deadlock;
 *   a batch that waited for a lock sees the row as the previous writer left it;
 * - `planned`: per mailbox, items numbered 1..n in arrival order; item n gets seq = last_seq + n and
 *   is kept only while message_count + n <= its limit (atomic quota on the locked row);
 * - `ins` inserts them (ON CONFLICT DO NOTHING on (mailbox_id, ingress_id)); `upd` moves each mailbox's
 *   counters by what was inserted;
 * - `sub`, `ev`, `hook`, `del`: for the mailboxes whose webhook subscribes to message.received, each stored
 *   message's event and delivery ($6: one event id per item), in the same commit (store/events.ts);
 * - `guard`: a twin committed by another transaction after this statement's snapshot would make an
 *   insert a no-op and leave a hole in seq, so the statement then FAILS on purpose (a cast error; the
 *   text is built from a subquery so the planner cannot fold it into an error at prepare time) and
 *   rolls back entirely; the caller retries the items one by one, where that case is handled.
 */
const batchSql = (columns: string[]) => {
  const others = columns.filter((c) => c !== 'raw');
  if (others.length === columns.length) throw new Error('a delivery has no raw column');
  const cols = columns.map((c) => `"${c}"`).join(', ');
  return `
    with input as (
      select ${others.map((c) => `r."${c}"`).join(', ')},
             substring($2::bytea from l.raw_offset + 1 for l.raw_length) as raw, l.max_messages, l.ord
      from json_populate_recordset(null::messages, $3::json) with ordinality as r
      join unnest($1::int[], $4::int[], $5::int[]) with ordinality as l(max_messages, raw_offset, raw_length, ord) on l.ord = r.ordinality
    ), dup as (
      select i.ord, m.id, m.seq from input i join messages m on m.mailbox_id = i.mailbox_id and m.ingress_id = i.ingress_id
    ), cand as (
      select distinct on (i.mailbox_id, i.ingress_id) i.* from input i
      where not exists (select 1 from dup where dup.ord = i.ord)
      order by i.mailbox_id, i.ingress_id, i.ord
    ), box as materialized (
      select id, address, last_seq, message_count from mailboxes
      where id in (select mailbox_id from cand) and is_active and (expires_at is null or expires_at > clock_timestamp())
      order by id
      for no key update
    ), ranked as (
      select c.*, b.last_seq, b.message_count, row_number() over (partition by c.mailbox_id order by c.ord) as n
      from cand c join box b on b.id = c.mailbox_id
    ), planned as materialized (
      select * from ranked where message_count + n <= max_messages
    ), ins as (
      insert into messages (seq, ${cols})
      select last_seq + n, ${cols} from planned
      on conflict (mailbox_id, ingress_id) do nothing
      returning id, mailbox_id, ingress_id, seq, size_bytes, from_address, subject, received_at, has_attachments, tag
    ), upd as (
      update mailboxes set last_seq = a.top, message_count = mailboxes.message_count + a.n, used_bytes = mailboxes.used_bytes + a.bytes
      from (select mailbox_id, max(seq) as top, count(*) as n, sum(size_bytes) as bytes from ins group by mailbox_id) a
      where mailboxes.id = a.mailbox_id
      returning mailboxes.id
    ), sub as (
      -- mailboxes whose webhook subscribes to message.received (nearly always none: one index probe per mailbox)
      select w.mailbox_id from mailbox_webhooks w
      where w.mailbox_id in (select id from box)
        and (w.event_types is null or 'message.received' = any(w.event_types))
    ), ev as (
      insert into events (id, mailbox_id, mailbox_address, type, occurred_at, data, message_id)
      select ($6::text[])[p.ord], ins.mailbox_id, box.address, 'message.received', ins.received_at, ${RECEIVED_EVENT_DATA_SQL}, ins.id
      from ins join sub on sub.mailbox_id = ins.mailbox_id join box on box.id = ins.mailbox_id join planned p on p.id = ins.id
      on conflict do nothing
      returning id, mailbox_id, type, message_id
    ), ${DELIVERIES_FOR_EVENTS_SQL}
    select i.ord::int as ord, s.seq as stored_seq, coalesce(d.id, t.id) as dup_id, coalesce(d.seq, t.seq) as dup_seq,
           (i.mailbox_id in (select id from box)) as locked,
           (select case when (select count(*) from ins) <> (select count(*) from planned)
                        then ('mailwright: concurrent twin inserted during a delivery batch of ' || (select count(*) from input))::int end) as guard,
           wd.id as webhook_delivery_id
    from input i
    left join ins s on s.id = i.id
    left join dup d on d.ord = i.ord
    left join ins t on t.mailbox_id = i.mailbox_id and t.ingress_id = i.ingress_id and t.id <> i.id
    left join ev e on e.message_id = s.id
    left join del wd on wd.event_id = e.id and wd.status = 'pending'
    order by i.ord`;
};

/**
 * The batch write (see batchSql): all or nothing. Rejects if the statement fails (nothing was stored);
 * otherwise resolves with one outcome per item, in the order of `items`.
 */
export function messageDeliveryBatch(db: Db) {
  let prepared: { name: string; text: string } | undefined;
  // the row type of `messages` types every column (json_populate_recordset); a column the table lacks fails
  // the statement when Postgres prepares it, and the batcher's fallback then reports it per item
  const prepare = (columns: string[]) => {
    if (!prepared) {
      const text = batchSql(columns);
      prepared = { name: `mw_deliver_batch_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`, text };
    }
    return prepared;
  };

  return async function deliverBatch(items: BatchItem[]): Promise<DeliveryOutcome[]> {
    if (items.length === 0) return [];
    const rows = items.map((it) => {
      const row = messageRow({ ...it.message, seq: 0 }, (v) => v);
      delete row.seq;
      return row;
    });
    const { name, text } = prepare(Object.keys(rows[0]!));
    for (const row of rows) delete row.raw; // travels in binary, in $2
    const raws = items.map((it) => it.message.raw);
    const offsets: number[] = [];
    let at = 0;
    for (const r of raws) {
      offsets.push(at);
      at += r.length;
    }
    const values = [
      items.map((it) => it.limits.maxMessages),
      Buffer.concat(raws, at),
      JSON.stringify(rows),
      offsets,
      raws.map((r) => r.length),
      items.map(() => newEventId()),
    ];
    const result = await preparedQuery<BatchRow>(db, name, text, values);
    if (result.length !== items.length)
      throw new Error(`delivery batch of ${items.length} answered ${result.length} rows`);
    return Promise.all(
      result.map(async (r, i): Promise<DeliveryOutcome> => {
        const m = items[i]!.message;
        if (r.stored_seq !== null)
          return {
            status: 'stored',
            id: m.id,
            seq: Number(r.stored_seq),
            ...(r.webhook_delivery_id ? { webhookDeliveryId: r.webhook_delivery_id } : {}),
          };
        if (r.dup_id !== null) return { status: 'duplicate', id: r.dup_id, seq: Number(r.dup_seq) };
        if (r.locked) return { status: 'refused', reason: 'mailbox_full' };
        return whyRefused(db, m.mailboxId);
      }),
    );
  };
}
