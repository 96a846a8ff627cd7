import type { Db } from './db.js';
import { toWebhook, type Webhook, type WebhookRow } from './webhooks.js';

/**
 * `webhook_deliveries`: one per event a webhook subscribes to, `pending → sending → delivered | failed`
 * (`sending → pending` again when an attempt failed and another is scheduled). The worker claims a delivery
 * under the webhook's row lock, so the per-endpoint in-flight cap holds across processes.
 */
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface AttemptRecord {
  at: string;
  status_code: number | null;
  error: string | null;
  ms: number;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  webhook_id: string;
  mailbox_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  processing_started_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  response_excerpt: string | null;
  attempt_log: AttemptRecord[];
  created_at: Date;
}

export interface EventRow {
  id: string;
  seq: string;
  mailbox_id: string;
  mailbox_address: string;
  type: string;
  occurred_at: Date;
  data: Record<string, unknown>;
  created_at: Date;
}

export type Claim =
  | { kind: 'claimed'; delivery: DeliveryRow; event: EventRow; webhook: Webhook }
  /** over WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: try again shortly, no attempt counted */
  | { kind: 'busy' }
  /** not due yet (a job that ran early): wait until then */
  | { kind: 'not_due'; at: Date }
  /** delivered, failed, deleted, or claimed by another worker */
  | { kind: 'nothing' };

const ms = (n: number) => `${Math.max(0, Math.round(n))} milliseconds`;

const WEBHOOK_COLUMNS = [
  'id',
  'mailbox_id',
  'url',
  'event_types',
  'secret_encrypted',
  'previous_secret_encrypted',
  'previous_secret_expires_at',
  'status',
  'disabled_reason',
  'disabled_at',
  'failing_since',
  'created_at',
  'updated_at',
] as const;
const EVENT_COLUMNS = [
  'id',
  'seq',
  'mailbox_id',
  'mailbox_address',
  'type',
  'occurred_at',
  'data',
  'created_at',
] as const;

/**
 * The claim and, when claimed, the delivery, its event and its webhook, in one statement (one round trip); columns of
 * the event and the webhook prefixed `e_` and `w_`. The joined rows are read with the statement's snapshot, taken
 * before the function ran: the event never changes, the delivery's `attempts` come from the function (read under
 * its lock), and the webhook's URL and secrets are as they were a moment before the claim (a PUT or a rotation
 * committed in that moment applies from the next attempt).
 */
const CLAIM_SQL = `select c.outcome, c.due_at, c.attempts as claimed_attempts, d.*,
    ${EVENT_COLUMNS.map((col) => `e.${col} as e_${col}`).join(', ')},
    ${WEBHOOK_COLUMNS.map((col) => `w.${col} as w_${col}`).join(', ')}
  from mw_claim_webhook_delivery(?, ?, ?) c
  left join webhook_deliveries d on c.outcome = 'claimed' and d.id = ?
  left join events e on e.id = d.event_id
  left join mailbox_webhooks w on w.id = d.webhook_id`;

interface ClaimRow extends DeliveryRow {
  outcome: string;
  due_at: Date | null;
  claimed_attempts: number | null;
  [prefixed: string]: unknown;
}

const unprefix = (row: Record<string, unknown>, prefix: string, columns: readonly string[]) =>
  Object.fromEntries(columns.map((c) => [c, row[prefix + c]]));

/**
 * Claim a delivery for one attempt: one statement calling `mw_claim_webhook_delivery` (migration
 * 20261209000100_add_webhook_delivery_claim.ts: the webhook row locked first, then the delivery, the same order as
 * disableWebhook; the per-endpoint count cannot race another claim for the same endpoint). `staleMs`: a `sending`
 * row older than this belongs to a worker that died and may be claimed again.
 */
export async function claimDelivery(db: Db, id: string, p: { maxInFlight: number; staleMs: number }): Promise<Claim> {
  const {
    rows: [row],
  }: { rows: ClaimRow[] } = await db.raw(CLAIM_SQL, [id, p.maxInFlight, Math.round(p.staleMs), id]);
  if (row?.outcome === 'busy') return { kind: 'busy' };
  if (row?.outcome === 'not_due' && row.due_at) return { kind: 'not_due', at: row.due_at };
  if (row?.outcome !== 'claimed' || row.claimed_attempts === null || row.e_id === null || row.w_id === null)
    return { kind: 'nothing' };
  const delivery: Record<string, unknown> = { attempts: row.claimed_attempts, status: 'sending' };
  for (const [key, value] of Object.entries(row))
    if (!/^(e_|w_|outcome$|due_at$|claimed_attempts$|attempts$|status$)/.test(key)) delivery[key] = value;
  return {
    kind: 'claimed',
    delivery: delivery as unknown as DeliveryRow,
    event: unprefix(row, 'e_', EVENT_COLUMNS) as unknown as EventRow,
    webhook: toWebhook(unprefix(row, 'w_', WEBHOOK_COLUMNS) as unknown as WebhookRow),
  };
}

export interface AttemptResult {
  /** the HTTP status, null when none came back (timeout, connection error, refused by the guard) */
  statusCode: number | null;
  error: string | null;
  /** the first 1 KB of the response body */
  excerpt: string | null;
  ms: number;
  outcome: 'delivered' | 'retry' | 'failed';
  /** when outcome is 'retry' */
  nextAttemptAt?: Date;
  /** 410: disable the webhook (`gone`) */
  gone?: boolean;
}

/**
 * Record one attempt: the delivery's columns and its attempt log (the last 20), and the webhook's health: a 2xx
 * clears `failing_since`; a failure sets it when unset, and disables the webhook (`failing`) once it is older than
 * `disableAfterMs`; a 410 disables it (`gone`) at once. Returns how the webhook was disabled, if it was.
 */
export async function recordAttempt(
  db: Db,
  d: Pick<DeliveryRow, 'id' | 'webhook_id'>,
  r: AttemptResult,
  disableAfterMs: number,
): Promise<{ disabled?: 'gone' | 'failing' }> {
  const log: AttemptRecord = {
    at: new Date().toISOString(),
    status_code: r.statusCode,
    error: r.error,
    ms: Math.round(r.ms),
  };
  const update = `update webhook_deliveries set
         attempts = attempts + 1, last_attempt_at = clock_timestamp(), processing_started_at = null,
         last_status_code = ?, last_error = ?, response_excerpt = ?, status = ?, next_attempt_at = ?,
         delivered_at = case when ? = 'delivered' then clock_timestamp() else delivered_at end,
         attempt_log = (select coalesce(jsonb_agg(e order by o), '[]'::jsonb) from (
           select e, o from jsonb_array_elements(attempt_log || jsonb_build_array(?::jsonb)) with ordinality a(e, o)
           order by o desc limit 20) t)
       where id = ?`;
  const values = [
    r.statusCode,
    r.error,
    r.excerpt,
    r.outcome === 'retry' ? 'pending' : r.outcome,
    r.outcome === 'retry' ? (r.nextAttemptAt ?? new Date()) : null,
    r.outcome,
    JSON.stringify(log),
    d.id,
  ];
  if (r.outcome === 'delivered') {
    // the common case as one statement (one round trip, its own commit): the attempt, and the webhook's health.
    // Committed asynchronously (synchronous_commit off for this transaction only, set on the delivery's row): a
    // `delivered` lost to a Postgres crash means one more delivery of the event, which at-least-once allows; it
    // spares the fan-out a WAL flush per delivery.
    await db.raw(
      `with d as (${update} and set_config('synchronous_commit', 'off', true) is not null returning webhook_id)
       update mailbox_webhooks w set failing_since = null from d where w.id = d.webhook_id and w.failing_since is not null`,
      values,
    );
    return {};
  }
  return db.transaction(async (trx) => {
    await trx.raw(update, values);
    if (r.gone) return (await disableIn(trx, d.webhook_id, 'gone')) ? { disabled: 'gone' } : {};
    const {
      rows: [w],
    }: { rows: Array<{ overdue: boolean }> } = await trx.raw(
      `update mailbox_webhooks set failing_since = coalesce(failing_since, clock_timestamp()) where id = ?
       returning failing_since <= clock_timestamp() - ?::interval as overdue`,
      [d.webhook_id, ms(disableAfterMs)],
    );
    if (w?.overdue) return (await disableIn(trx, d.webhook_id, 'failing')) ? { disabled: 'failing' } : {};
    return {};
  });
}

async function disableIn(trx: Db, webhookId: string, reason: 'gone' | 'failing'): Promise<boolean> {
  const n = await trx('mailbox_webhooks')
    .where({ id: webhookId, status: 'enabled' })
    .update({ status: 'disabled', disabled_reason: reason, disabled_at: trx.fn.now(), updated_at: trx.fn.now() });
  if (n === 0) return false;
  await trx('webhook_deliveries')
    .where({ webhook_id: webhookId, status: 'pending' })
    .update({ status: 'failed', next_attempt_at: null, last_error: 'webhook disabled' });
  return true;
}

/** A claimed delivery that could not be attempted (the worker is shutting down): back to pending, no attempt. */
export async function releaseDelivery(db: Db, id: string): Promise<void> {
  await db('webhook_deliveries')
    .where({ id, status: 'sending' })
    .update({ status: 'pending', processing_started_at: null });
}

export interface DeliveryListItem extends DeliveryRow {
  event_type: string;
}

/** A webhook's deliveries, newest first; `cursor`: the id of the last delivery of the previous page. */
export async function listDeliveries(
  db: Db,
  webhookId: string,
  q: { status?: DeliveryStatus[]; limit: number; cursor?: string },
): Promise<DeliveryListItem[]> {
  const query = db('webhook_deliveries as d')
    .join('events as e', 'e.id', 'd.event_id')
    .where('d.webhook_id', webhookId)
    .orderBy([
      { column: 'd.created_at', order: 'desc' },
      { column: 'd.id', order: 'desc' },
    ])
    .limit(q.limit)
    .select('d.*', 'e.type as event_type');
  if (q.status?.length) query.whereIn('d.status', q.status);
  if (q.cursor)
    query.andWhereRaw('(d.created_at, d.id) < (select created_at, id from webhook_deliveries where id = ?)', [
      q.cursor,
    ]);
  return (await query) as DeliveryListItem[];
}

export async function findDelivery(
  db: Db,
  webhookId: string,
  id: string,
): Promise<(DeliveryListItem & { event: EventRow }) | undefined> {
  const d: DeliveryListItem | undefined = await db('webhook_deliveries as d')
    .join('events as e', 'e.id', 'd.event_id')
    .where({ 'd.webhook_id': webhookId, 'd.id': id })
    .first('d.*', 'e.type as event_type');
  if (!d) return undefined;
  const event: EventRow = await db('events').where({ id: d.event_id }).first();
  return { ...d, event };
}

/** Manual redelivery: due now (a delivered or failed one becomes pending again). False when it is being sent. */
export async function requeueDelivery(db: Db, webhookId: string, id: string): Promise<boolean> {
  const n = await db('webhook_deliveries')
    .where({ webhook_id: webhookId, id })
    .whereIn('status', ['pending', 'delivered', 'failed'])
    .update({ status: 'pending', next_attempt_at: db.raw('clock_timestamp()') });
  return n > 0;
}

/** `recover`: every failed delivery of the webhook created since `since` is pending again; their ids. */
export async function recoverFailed(db: Db, webhookId: string, since: Date, limit: number): Promise<string[]> {
  const rows: Array<{ id: string }> = await db('webhook_deliveries')
    .whereIn(
      'id',
      db('webhook_deliveries')
        .where({ webhook_id: webhookId, status: 'failed' })
        .andWhere('created_at', '>=', since)
        .orderBy('created_at', 'asc')
        .limit(limit)
        .select('id'),
    )
    .update({ status: 'pending', next_attempt_at: db.raw('clock_timestamp()') })
    .returning('id');
  return rows.map((r) => r.id);
}

/**
 * Deliveries whose job may be lost: pending and due for longer than `overdueMs`, or sending for longer than
 * `staleMs` (a worker died). Up to `limit`, oldest first.
 */
export async function overdueDeliveries(db: Db, overdueMs: number, staleMs: number, limit: number): Promise<string[]> {
  const rows: Array<{ id: string }> = await db('webhook_deliveries')
    .where((w) => {
      void w
        .where('status', 'pending')
        .andWhere('next_attempt_at', '<=', db.raw(`now() - ?::interval`, [ms(overdueMs)]));
    })
    .orWhere((w) => {
      void w
        .where('status', 'sending')
        .andWhere('processing_started_at', '<=', db.raw(`now() - ?::interval`, [ms(staleMs)]));
    })
    .orderBy('next_attempt_at', 'asc')
    .limit(limit)
    .select('id');
  return rows.map((r) => r.id);
}

/** Retention: events older than `days` (their deliveries cascade), except those still to be delivered. */
export async function purgeOldEvents(db: Db, days: number, batch: number): Promise<number> {
  const { rowCount }: { rowCount: number } = await db.raw(
    `delete from events where id in (
       select e.id from events e where e.created_at < now() - (? * interval '1 day')
         and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status in ('pending', 'sending'))
       limit ?)`,
    [days, batch],
  );
  return rowCount;
}
