import type { Knex } from 'knex';
import { appendBounceEvent } from './bounce-events.js';
import type { Db } from './db.js';

/** What a bounce is checked against: the outbound message its VERP address names. */
export interface BouncedMessage {
  id: string;
  mailboxId: string;
  recipient: string;
  envelopeFrom: string | null;
  bounceType: 'hard' | 'soft' | null;
  /** when it was sent (created, if it never was): BOUNCE_MAX_AGE_DAYS counts from here */
  sentAt: Date;
}

interface BouncedRow {
  id: string;
  mailbox_id: string;
  recipient_email: string;
  envelope_from: string | null;
  bounce_type: 'hard' | 'soft' | null;
  sent_at: Date | null;
  created_at: Date;
}

const BOUNCED_COLUMNS = [
  'id',
  'mailbox_id',
  'recipient_email',
  'envelope_from',
  'bounce_type',
  'sent_at',
  'created_at',
];

const bouncedMessage = (row: BouncedRow): BouncedMessage => ({
  id: row.id,
  mailboxId: row.mailbox_id,
  recipient: row.recipient_email,
  envelopeFrom: row.envelope_from,
  bounceType: row.bounce_type,
  sentAt: row.sent_at ?? row.created_at,
});

export async function findBouncedMessage(db: Db, id: string): Promise<BouncedMessage | undefined> {
  const row = await db('outbound_messages').where({ id }).first<BouncedRow | undefined>(BOUNCED_COLUMNS);
  return row && bouncedMessage(row);
}

/** The outbound messages a batch of DSNs names, by id, in one query (the poll reads a batch at a time). */
export async function findBouncedMessages(db: Db, ids: readonly string[]): Promise<Map<string, BouncedMessage>> {
  if (ids.length === 0) return new Map();
  const rows = await db('outbound_messages')
    .whereIn('id', [...new Set(ids)])
    .select<BouncedRow[]>(BOUNCED_COLUMNS);
  return new Map(rows.map((row) => [row.id, bouncedMessage(row)]));
}

export type ReportClass = 'hard' | 'soft' | 'delayed' | 'complaint' | 'none';

export interface NewBounceReport {
  mailboxId: string;
  outboundMessageId: string;
  recipient: string;
  source: 'imap' | 'smtp';
  dsnMessageId: string | null;
  sha256: string;
  action: string | null;
  status: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  class: ReportClass;
}

export interface AppliedBounce {
  reportId: string | null;
  /** this DSN (mailbox, sha256) was processed before: nothing written now */
  duplicate: boolean;
  /** webhook deliveries of the event written (outbound.bounced / delivery_delayed): enqueue after commit */
  webhookDeliveries: string[];
}

/**
 * One processed DSN, in one transaction: its `bounce_reports` row (unique per mailbox and sha256: a DSN seen again
 * writes nothing), then its effect on the outbound message. hard/soft: status `bounced`, bounce_type, diagnostic,
 * bounced_at (a soft never replaces a hard; a hard upgrades a soft) and a `bounced` event; hard also suppresses the
 * recipient (`hard_bounce`, source_message_id). delayed: a `delivery_delayed` event. complaint: a `complaint`
 * suppression and a `complained` event. none (delivered, relayed, auto-reply): the report only.
 */
export function applyBounceReport(db: Knex, r: NewBounceReport): Promise<AppliedBounce> {
  return db.transaction((trx) => applyInTransaction(trx, r));
}

/**
 * Several processed DSNs (one poll batch) in one transaction, in order, each as `applyBounceReport` would write it
 * (a DSN twice in the batch is a duplicate the second time; a later hard one upgrades an earlier soft one). One
 * transaction per batch instead of one per DSN: a fiftieth of the round trips and of the allocations a knex
 * transaction costs. If it fails, nothing of the batch is written.
 */
export function applyBounceReports(db: Knex, reports: readonly NewBounceReport[]): Promise<AppliedBounce[]> {
  if (reports.length === 0) return Promise.resolve([]);
  return db.transaction(async (trx) => {
    const applied: AppliedBounce[] = [];
    for (const r of reports) applied.push(await applyInTransaction(trx, r));
    return applied;
  });
}

async function applyInTransaction(trx: Knex.Transaction, r: NewBounceReport): Promise<AppliedBounce> {
  const [inserted] = await trx('bounce_reports')
    .insert({
      mailbox_id: r.mailboxId,
      outbound_message_id: r.outboundMessageId,
      source: r.source,
      dsn_message_id: r.dsnMessageId,
      sha256: r.sha256,
      action: r.action,
      status: r.status,
      diagnostic: r.diagnostic,
      remote_mta: r.remoteMta,
      class: r.class,
    })
    .onConflict(['mailbox_id', 'sha256'])
    .ignore()
    .returning<{ id: string }[]>('id');
  if (!inserted) return { reportId: null, duplicate: true, webhookDeliveries: [] };
  const reportId = inserted.id;
  let webhookDeliveries: string[] = [];
  const facts = {
    action: r.action,
    status: r.status,
    diagnostic: r.diagnostic,
    remote_mta: r.remoteMta,
    source: r.source,
    report_id: reportId,
  };
  if (r.class === 'hard' || r.class === 'soft') {
    const target = trx('outbound_messages').where({ id: r.outboundMessageId });
    // a soft bounce never replaces a hard one
    if (r.class === 'soft') void target.andWhereRaw(`(bounce_type is null or bounce_type = 'soft')`);
    await target.update({
      status: 'bounced',
      bounce_type: r.class,
      bounce_diagnostic: r.diagnostic,
      bounced_at: trx.fn.now(),
      updated_at: trx.fn.now(),
    });
    webhookDeliveries = await appendBounceEvent(trx, r.outboundMessageId, 'bounced', { type: r.class, ...facts });
    if (r.class === 'hard') await suppress(trx, r, 'hard_bounce');
  } else if (r.class === 'delayed') {
    webhookDeliveries = await appendBounceEvent(trx, r.outboundMessageId, 'delivery_delayed', facts);
  } else if (r.class === 'complaint') {
    await suppress(trx, r, 'complaint');
    webhookDeliveries = await appendBounceEvent(trx, r.outboundMessageId, 'complained', {
      feedback_type: r.diagnostic,
      source: r.source,
      report_id: reportId,
    });
  }
  return { reportId, duplicate: false, webhookDeliveries };
}

/** A recipient suppressed for the mailbox; an existing suppression (manual, an earlier bounce) is kept as it is. */
async function suppress(trx: Knex.Transaction, r: NewBounceReport, reason: 'hard_bounce' | 'complaint') {
  await trx('suppressions')
    .insert({
      mailbox_id: r.mailboxId,
      recipient_email: r.recipient,
      reason,
      source_message_id: r.outboundMessageId,
    })
    .onConflict(['mailbox_id', 'recipient_email'])
    .ignore();
}

export interface BounceReport {
  id: string;
  outboundMessageId: string | null;
  source: 'imap' | 'smtp';
  dsnMessageId: string | null;
  action: string | null;
  status: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  class: ReportClass;
  receivedAt: Date;
  recipient: string | null;
}

interface ReportRow {
  id: string;
  outbound_message_id: string | null;
  source: 'imap' | 'smtp';
  dsn_message_id: string | null;
  action: string | null;
  status: string | null;
  diagnostic: string | null;
  remote_mta: string | null;
  class: ReportClass;
  received_at: Date;
  recipient: string | null;
}

/** A mailbox's bounce reports, newest first, after the `(received_at, id)` cursor when given. */
export async function listBounceReports(
  db: Db,
  mailboxId: string,
  opts: { limit: number; before?: { receivedAt: Date; id: string } },
): Promise<BounceReport[]> {
  const q = db('bounce_reports as b')
    .leftJoin('outbound_messages as o', 'o.id', 'b.outbound_message_id')
    .where('b.mailbox_id', mailboxId)
    // milliseconds: the cursor carries them, and a row must compare equal to its own cursor
    .orderByRaw(`date_trunc('milliseconds', b.received_at) desc, b.id desc`)
    .limit(opts.limit)
    .select('b.*', { recipient: 'o.recipient_email' });
  if (opts.before)
    void q.whereRaw(`(date_trunc('milliseconds', b.received_at), b.id) < (?, ?)`, [
      opts.before.receivedAt,
      opts.before.id,
    ]);
  const rows: ReportRow[] = await q;
  return rows.map((row) => ({
    id: row.id,
    outboundMessageId: row.outbound_message_id,
    source: row.source,
    dsnMessageId: row.dsn_message_id,
    action: row.action,
    status: row.status,
    diagnostic: row.diagnostic,
    remoteMta: row.remote_mta,
    class: row.class,
    receivedAt: row.received_at,
    recipient: row.recipient ?? null,
  }));
}
