import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';
import type { Logger } from '../core/log.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import {
  applyBounceReport,
  applyBounceReports,
  findBouncedMessage,
  findBouncedMessages,
  type AppliedBounce,
  type BouncedMessage,
  type NewBounceReport,
  type ReportClass,
} from '../store/bounces.js';
import { classifyBounce } from './classify.js';
import { headerValue } from './mime.js';
import { parseBounce, type ParsedBounce } from './parse-bounce.js';
import { checkVerpAddress, findVerp, type VerpFailure } from './verp-find.js';

/** Why a message changed nothing (logged and counted; in a bounce inbox it goes to Rejected-Bounces). */
export type RejectReason =
  | Exclude<VerpFailure, 'not_verp'>
  | 'no_verp'
  | 'unknown_id'
  | 'envelope_mismatch'
  | 'other_mailbox'
  | 'too_old'
  | 'too_large';

export type BounceOutcome =
  | {
      result: 'matched';
      class: ReportClass;
      outboundMessageId: string;
      reportId: string | null;
      /** seen before (a re-poll, a re-run job): nothing written this time */
      duplicate: boolean;
    }
  | { result: 'rejected'; reason: RejectReason; outboundMessageId?: string };

export interface BounceProcessorDeps {
  db: Knex;
  /** BOUNCE_HMAC_SECRET, then BOUNCE_HMAC_SECRET_PREVIOUS (access/secret.ts) */
  secrets: readonly string[];
  maxAgeDays: number;
  now?: () => number;
  /** where the outbound.bounced / delivery_delayed webhook deliveries go after commit (absent: the webhooks sweep) */
  webhooks?: { queue: Queue; log: Logger; enqueueTimeoutMs: number };
}

export interface BounceInput {
  raw: Buffer;
  source: 'imap' | 'smtp';
  /** IMAP: the mailbox whose bounce inbox holds it (a DSN for another mailbox's message is rejected) */
  mailboxId?: string;
  /** SMTP: the RCPT it was sent to (the VERP address itself) */
  rcpt?: string;
}

const TRACE = new Set(['return-path', 'received', 'delivered-to', 'x-original-to', 'envelope-to', 'x-delivered-to']);

/**
 * sha256 of a DSN's bytes as received, before the trace fields the receiving side prepended (Return-Path,
 * Received, Delivered-To, ...): the same DSN delivered again, or fetched again, has the same digest.
 */
export function bounceDigest(raw: Buffer): string {
  let offset = 0;
  for (;;) {
    const eol = raw.indexOf(10, offset);
    if (eol < 0) break;
    const line = raw.toString('latin1', offset, Math.min(eol, offset + 64));
    const colon = line.indexOf(':');
    if (colon <= 0 || !TRACE.has(line.slice(0, colon).trim().toLowerCase())) break;
    // the field and its continuation lines
    let next = eol + 1;
    while (next < raw.length && (raw[next] === 32 || raw[next] === 9)) {
      const more = raw.indexOf(10, next);
      next = more < 0 ? raw.length : more + 1;
    }
    offset = next;
  }
  return createHash('sha256').update(raw.subarray(offset)).digest('hex');
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A DSN read and its VERP address checked: everything the database is not needed for (pure). It keeps what the
 * decision needs, never the raw bytes.
 */
export type ReadBounce = { source: BounceInput['source']; mailboxId?: string } & (
  { ok: true; parsed: ParsedBounce; id: string; address: string; sha256: string } | { ok: false; reason: RejectReason }
);

export function readBounce(deps: BounceProcessorDeps, input: BounceInput): ReadBounce {
  const parsed = parseBounce(input.raw);
  const verp =
    input.source === 'smtp' && input.rcpt !== undefined
      ? checkVerpAddress(input.rcpt, deps.secrets)
      : findVerp(parsed.headers, deps.secrets);
  const where = { source: input.source, ...(input.mailboxId !== undefined ? { mailboxId: input.mailboxId } : {}) };
  if (!verp.ok) return { ...where, ok: false, reason: verp.reason === 'not_verp' ? 'no_verp' : verp.reason };
  return { ...where, ok: true, parsed, id: verp.id, address: verp.address, sha256: bounceDigest(input.raw) };
}

/** The report a read DSN writes for its outbound message, or why it writes nothing. */
function decide(
  deps: BounceProcessorDeps,
  read: Extract<ReadBounce, { ok: true }>,
  message: BouncedMessage | undefined,
): { report: NewBounceReport } | { reject: RejectReason } {
  if (!message) return { reject: 'unknown_id' };
  if (message.envelopeFrom?.toLowerCase() !== read.address) return { reject: 'envelope_mismatch' };
  if (read.mailboxId !== undefined && message.mailboxId !== read.mailboxId) return { reject: 'other_mailbox' };
  if ((deps.now?.() ?? Date.now()) - message.sentAt.getTime() > deps.maxAgeDays * DAY_MS) return { reject: 'too_old' };
  const c = classifyBounce(read.parsed, message.recipient);
  return {
    report: {
      mailboxId: message.mailboxId,
      outboundMessageId: message.id,
      recipient: message.recipient,
      source: read.source,
      dsnMessageId: headerValue(read.parsed.headers, 'message-id')?.slice(0, 998) ?? null,
      sha256: read.sha256,
      action: c.action,
      status: c.status,
      diagnostic: c.diagnostic,
      remoteMta: c.remoteMta,
      class: c.class,
    },
  };
}

const matched = (r: NewBounceReport, { webhookDeliveries: _, ...applied }: AppliedBounce): BounceOutcome => ({
  result: 'matched',
  class: r.class,
  outboundMessageId: r.outboundMessageId,
  ...applied,
});

/** After the commit: the webhook deliveries of the events written (none without a queue: the webhooks sweep). */
async function enqueueDeliveries(deps: BounceProcessorDeps, applied: readonly AppliedBounce[]): Promise<void> {
  const ids = applied.flatMap((a) => a.webhookDeliveries);
  if (!deps.webhooks || ids.length === 0) return;
  await enqueueWebhookDeliveriesSafely(deps.webhooks.queue, ids, deps.webhooks.log, deps.webhooks.enqueueTimeoutMs);
}

/**
 * The bounce processor shared by the IMAP poll and the SMTP pipeline. A DSN changes state only if its VERP
 * address verifies, its id exists, the address equals the message's envelope_from, the message belongs to the
 * polled mailbox (IMAP), and it was sent within BOUNCE_MAX_AGE_DAYS; then one transaction writes the report and
 * its effect (store/bounces.ts), and after the commit its webhook delivery is enqueued. Anything else writes nothing. A database error propagates (transient: the DSN
 * stays for the next poll, the job is retried).
 */
export async function processBounce(deps: BounceProcessorDeps, input: BounceInput): Promise<BounceOutcome> {
  const read = readBounce(deps, input);
  if (!read.ok) return { result: 'rejected', reason: read.reason };
  const d = decide(deps, read, await findBouncedMessage(deps.db, read.id));
  if ('reject' in d) return { result: 'rejected', reason: d.reject, outboundMessageId: read.id };
  const applied = await applyBounceReport(deps.db, d.report);
  await enqueueDeliveries(deps, [applied]);
  return matched(d.report, applied);
}

/**
 * A poll batch of DSNs already read (`readBounce`, as each was fetched: their bytes are not held), each decided as
 * `processBounce` decides it, with one query for their outbound messages and one transaction for their reports.
 * The outcomes are in input order; an `Error` is a DSN hit by a database error (it stays for the next poll). When
 * the batch's transaction fails, its DSNs are written one transaction each, so one DSN that cannot be written
 * never holds back the others.
 */
export async function processReadBounces(
  deps: BounceProcessorDeps,
  reads: readonly ReadBounce[],
): Promise<Array<BounceOutcome | Error>> {
  let messages: Map<string, BouncedMessage>;
  try {
    messages = await findBouncedMessages(
      deps.db,
      reads.flatMap((read) => (read.ok ? [read.id] : [])),
    );
  } catch (err) {
    return reads.map((read) => (read.ok ? asError(err) : { result: 'rejected', reason: read.reason }));
  }
  const outcomes: Array<BounceOutcome | Error> = [];
  const reports: Array<{ index: number; report: NewBounceReport }> = [];
  for (const read of reads) {
    if (!read.ok) {
      outcomes.push({ result: 'rejected', reason: read.reason });
      continue;
    }
    const d = decide(deps, read, messages.get(read.id));
    if ('reject' in d) outcomes.push({ result: 'rejected', reason: d.reject, outboundMessageId: read.id });
    else {
      reports.push({ index: outcomes.length, report: d.report });
      outcomes.push(NOT_WRITTEN);
    }
  }
  try {
    const applied = await applyBounceReports(
      deps.db,
      reports.map((r) => r.report),
    );
    reports.forEach(({ index, report }, i) => (outcomes[index] = matched(report, applied[i]!)));
    await enqueueDeliveries(deps, applied);
  } catch {
    for (const { index, report } of reports)
      outcomes[index] = await applyBounceReport(deps.db, report).then(async (applied) => {
        await enqueueDeliveries(deps, [applied]);
        return matched(report, applied);
      }, asError);
  }
  return outcomes;
}

const NOT_WRITTEN = new Error('not written');
const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
