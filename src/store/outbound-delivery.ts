import type { Db } from './db.js';
import { appendOutboundEvent, appendOutboundEvents } from './outbound-events.js';
import type { AccountSettings, MailboxKind, TlsMode } from './mailboxes.js';
import type { NamedAddress, OutboundStatus, Stream } from './outbound.js';

/** What the worker reads of an outbound message before claiming it. */
export interface OutboundToSend {
  id: string;
  sendId: string;
  status: OutboundStatus;
  nextRetryAt: Date | null;
  recipient: string;
  stream: Stream;
  trackOpens: boolean;
  trackClicks: boolean;
  mailbox: {
    id: string;
    address: string;
    kind: MailboxKind;
    smtp: AccountSettings | null;
    /** connected mailboxes with a bounce inbox (issue 21): the VERP domain */
    bounceVerpDomain: string | null;
  };
}

export async function loadOutboundToSend(db: Db, id: string): Promise<OutboundToSend | undefined> {
  const r = await db('outbound_messages as m')
    .join('mailboxes as b', 'b.id', 'm.mailbox_id')
    .where('m.id', id)
    .first(
      'm.id',
      'm.send_id',
      'm.status',
      'm.next_retry_at',
      'm.recipient_email',
      'm.stream',
      'm.track_opens',
      'm.track_clicks',
      'b.id as mailbox_id',
      'b.address',
      'b.kind',
      'b.smtp_host',
      'b.smtp_port',
      'b.smtp_tls_mode',
      'b.smtp_username',
      'b.bounce_verp_domain',
    );
  if (!r) return undefined;
  const smtp =
    r.smtp_host && r.smtp_port && r.smtp_tls_mode && r.smtp_username
      ? { host: r.smtp_host, port: r.smtp_port, tls: r.smtp_tls_mode as TlsMode, username: r.smtp_username }
      : null;
  return {
    id: r.id,
    sendId: r.send_id,
    status: r.status,
    nextRetryAt: r.next_retry_at,
    recipient: r.recipient_email,
    stream: r.stream,
    trackOpens: r.track_opens,
    trackClicks: r.track_clicks,
    mailbox: { id: r.mailbox_id, address: r.address, kind: r.kind, smtp, bounceVerpDomain: r.bounce_verp_domain },
  };
}

/** The stored parts of a send: what the renderer builds the MIME from (the same bytes for every copy). */
export interface StoredSend {
  id: string;
  messageId: string;
  date: Date;
  fromName: string | null;
  replyTo: string | null;
  to: NamedAddress[];
  cc: NamedAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  attachments: Array<{ filename: string | null; contentType: string; content: Buffer }>;
}

export async function loadSend(db: Db, sendId: string): Promise<StoredSend | undefined> {
  const s = await db('outbound_sends').where({ id: sendId }).first();
  if (!s) return undefined;
  // the attachments' metadata is on the send: most sends have none, and then no second query
  const attachments =
    Array.isArray(s.attachments) && s.attachments.length === 0
      ? []
      : await db('outbound_attachments')
          .where({ send_id: sendId })
          .orderBy('index')
          .select('filename', 'content_type', 'content');
  return {
    id: s.id,
    messageId: s.message_id,
    date: s.date,
    fromName: s.from_name,
    replyTo: s.reply_to,
    to: s.to_addresses,
    cc: s.cc_addresses,
    subject: s.subject,
    text: s.text_body,
    html: s.html_body,
    headers: s.headers,
    attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.content_type, content: a.content })),
  };
}

export type Claim =
  | { kind: 'claimed'; attempt: number; recovered: boolean }
  /** `webhookDeliveries`: the outbound.suppressed delivery to enqueue after commit */
  | { kind: 'suppressed'; webhookDeliveries: string[] }
  | { kind: 'not_due'; nextRetryAt: Date }
  | { kind: 'busy'; staleAt: Date }
  | { kind: 'skip'; status: OutboundStatus | 'missing' };

/**
 * Claim a message for one attempt: `queued` and due, or `sending` with a processing_started_at older than `lockMs`
 * (its worker died: `recovered`). The claim sets `sending`, attempts + 1, processing_started_at and envelope_from,
 * and appends the `sending` event. A recipient suppressed meanwhile becomes `suppressed` instead (no SMTP traffic).
 * Anything else (sent, failed, someone else's live claim) is skipped.
 *
 * The usual case is ONE statement (CLAIM_SQL: lock, decide, update, event), atomic without a transaction around
 * it: a worker claims at the rate of one round trip. The `sending` event is written there directly, not through
 * appendOutboundEvents, because it is no webhook event (outbound-webhook-events.ts; test/integration/
 * outbound-claim.test.ts fails if that changes). The rare suppressed case writes its (webhook-able) event through
 * appendOutboundEvent in a transaction.
 */
export async function claimOutbound(db: Db, id: string, envelopeFrom: string, lockMs: number): Promise<Claim> {
  const { rows } = await db.raw<{ rows: ClaimRow[] }>(CLAIM_SQL, { id, lockMs, envelopeFrom });
  const row = rows[0];
  if (!row) return { kind: 'skip', status: 'missing' };
  if (row.attempts !== null) {
    const attempt = Number(row.attempts);
    return { kind: 'claimed', attempt, recovered: row.status === 'sending' };
  }
  if (row.claimable && row.suppression_reason !== null) return suppressAtClaim(db, id, lockMs);
  // nothing written: say why
  if (row.status === 'queued' && !row.due) return { kind: 'not_due', nextRetryAt: row.next_retry_at! };
  if (row.status === 'sending' && !row.claimable) return { kind: 'busy', staleAt: row.stale_at! };
  return { kind: 'skip', status: row.status };
}

/** A claimable row whose recipient was suppressed after acceptance: `suppressed`, with its event, in one transaction. */
async function suppressAtClaim(db: Db, id: string, lockMs: number): Promise<Claim> {
  return db.transaction(async (trx) => {
    const [row] = await trx('outbound_messages as m')
      .join('suppressions as s', (j) =>
        j.on('s.mailbox_id', 'm.mailbox_id').andOn('s.recipient_email', 'm.recipient_email'),
      )
      .where('m.id', id)
      .whereRaw(
        `((m.status = 'queued' and (m.next_retry_at is null or m.next_retry_at <= now()))
          or (m.status = 'sending' and m.processing_started_at < now() - ? * interval '1 millisecond'))`,
        [lockMs],
      )
      .forUpdate('m')
      .select('m.status', 's.reason');
    if (!row) return { kind: 'skip', status: 'missing' } as const; // changed meanwhile: the job re-reads it
    await trx('outbound_messages')
      .where({ id })
      .update({ status: 'suppressed', next_retry_at: null, updated_at: trx.fn.now() });
    const webhookDeliveries = await appendOutboundEvent(trx, {
      outboundMessageId: id,
      type: 'suppressed',
      payload: { reason: 'suppressed_recipient', suppression_reason: row.reason },
    });
    return { kind: 'suppressed', webhookDeliveries } as const;
  });
}

interface ClaimRow {
  /** the status before the claim */
  status: OutboundStatus;
  next_retry_at: Date | null;
  due: boolean;
  stale_at: Date | null;
  claimable: boolean;
  suppression_reason: string | null;
  /** the attempts after the claim; null when nothing was written */
  attempts: number | null;
}

/**
 * The claim in one statement: `cur` locks the row (FOR UPDATE: a concurrent claim waits, then sees its result) and
 * reads whether it is claimable and whether its recipient is suppressed; `claimed` writes `sending` (attempts + 1)
 * only when it is claimable and not suppressed, and `ev` appends its `sending` event. Returns the status before the
 * claim with the new attempts (null: nothing written).
 */
const CLAIM_SQL = `
  with cur as (
    select m.id, m.status, m.next_retry_at,
           (m.next_retry_at is null or m.next_retry_at <= now()) as due,
           m.processing_started_at + :lockMs * interval '1 millisecond' as stale_at,
           (m.status = 'queued' and (m.next_retry_at is null or m.next_retry_at <= now()))
             or (m.status = 'sending' and m.processing_started_at < now() - :lockMs * interval '1 millisecond')
             as claimable,
           (select s.reason from suppressions s
             where s.mailbox_id = m.mailbox_id and s.recipient_email = m.recipient_email) as suppression_reason
    from outbound_messages m
    where m.id = :id
    for update
  ), claimed as (
    update outbound_messages m
    set status = 'sending',
        attempts = m.attempts + 1,
        processing_started_at = now(),
        envelope_from = :envelopeFrom,
        next_retry_at = null,
        updated_at = now()
    from cur
    where m.id = cur.id and cur.claimable and cur.suppression_reason is null
    returning m.id, m.attempts
  ), ev as (
    insert into outbound_message_events (outbound_message_id, type, payload)
    select claimed.id, 'sending',
           case when cur.status = 'sending'
             then jsonb_build_object('attempt', claimed.attempts, 'recovered', true)
             else jsonb_build_object('attempt', claimed.attempts) end
    from claimed join cur on cur.id = claimed.id
  )
  select cur.status, cur.next_retry_at, cur.due, cur.stale_at, cur.claimable, cur.suppression_reason,
         claimed.attempts
  from cur left join claimed on true`;

export type Outcome =
  | { kind: 'sent'; response: string }
  | { kind: 'failed'; response: string | null; reason: string }
  | { kind: 'deferred'; response: string | null; nextRetryAt: Date };

/**
 * Record the outcome of attempt `attempt`: status, columns and event in one transaction, only while the row is
 * still this attempt's `sending` (a claim that was taken over by a recovering worker does not overwrite it).
 * Undefined when nothing was written; else the webhook deliveries of its event (outbound.sent / failed; deferred is
 * no webhook event) to enqueue after commit.
 */
export async function recordOutcome(db: Db, id: string, attempt: number, outcome: Outcome): Promise<Recorded> {
  return (await recordOutcomes(db, [{ id, attempt, outcome }]))[0];
}

/** Undefined when nothing was written; else webhook deliveries to enqueue after the commit. */
export type Recorded = { webhookDeliveries: string[] } | undefined;

/**
 * {@link recordOutcome} for several messages in one transaction, set-based: one UPDATE for all rows, then their
 * events in one append, so a worker that finishes many sends at once commits them together (the processor batches
 * the outcomes of its concurrent sends, outbound/batcher.ts). Each row is written only while it is still that
 * attempt's `sending`; the answer says, in input order, which were written (undefined: not written). The webhook
 * deliveries of the whole group's events come with the first item written (the others carry none): whoever
 * enqueues them after the commit enqueues each once.
 */
export async function recordOutcomes(
  db: Db,
  items: ReadonlyArray<{ id: string; attempt: number; outcome: Outcome }>,
): Promise<Recorded[]> {
  if (items.length === 0) return [];
  return db.transaction(async (trx) => {
    const values = items.map(({ id, attempt, outcome: o }) => ({
      id,
      attempt,
      kind: o.kind,
      response: o.response,
      reason: o.kind === 'failed' ? o.reason : null,
      next_retry_at: o.kind === 'deferred' ? o.nextRetryAt.toISOString() : null,
    }));
    const { rows } = await trx.raw<{ rows: Array<{ id: string }> }>(
      `update outbound_messages m
       set status = case v.kind when 'sent' then 'sent' when 'failed' then 'failed' else 'queued' end,
           sent_at = case when v.kind = 'sent' then now() else m.sent_at end,
           failed_at = case when v.kind = 'failed' then now() else m.failed_at end,
           smtp_response = v.response,
           error = case v.kind when 'sent' then null when 'failed' then v.reason else m.error end,
           next_retry_at = case when v.kind = 'deferred' then v.next_retry_at else m.next_retry_at end,
           processing_started_at = null,
           updated_at = now()
       from json_to_recordset(?::json)
         as v(id uuid, attempt int, kind text, response text, reason text, next_retry_at timestamptz)
       where m.id = v.id and m.status = 'sending' and m.attempts = v.attempt
       returning m.id`,
      [JSON.stringify(values)],
    );
    const written = new Set(rows.map((r) => r.id));
    const { webhookDeliveries } = await appendOutboundEvents(
      trx,
      items
        .filter((i) => written.has(i.id))
        .map(({ id, attempt, outcome }) => ({
          outboundMessageId: id,
          type: outcome.kind,
          payload:
            outcome.kind === 'sent'
              ? { response: outcome.response }
              : outcome.kind === 'failed'
                ? { response: outcome.response, reason: outcome.reason, attempt }
                : { attempt, response: outcome.response, next_retry_at: outcome.nextRetryAt.toISOString() },
        })),
    );
    let first = true;
    return items.map((i) => {
      if (!written.has(i.id)) return undefined;
      const recorded = { webhookDeliveries: first ? webhookDeliveries : [] };
      first = false;
      return recorded;
    });
  });
}

/**
 * Rows whose job may be lost: `queued` and due for longer than `overdueMs`, or `sending` with a
 * processing_started_at older than `staleMs` (the sweeper re-adds their jobs; an existing job id makes that a no-op).
 */
export async function overdueOutbound(
  db: Db,
  q: { overdueMs: number; staleMs: number; limit: number },
): Promise<Array<{ id: string; stream: Stream }>> {
  return db('outbound_messages')
    .whereRaw(
      `(status = 'queued' and coalesce(next_retry_at, created_at) < now() - ? * interval '1 millisecond')
        or (status = 'sending' and processing_started_at < now() - ? * interval '1 millisecond')`,
      [q.overdueMs, q.staleMs],
    )
    .orderByRaw('coalesce(next_retry_at, created_at)')
    .limit(q.limit)
    .select('id', 'stream');
}
