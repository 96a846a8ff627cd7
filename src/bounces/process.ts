import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';
import type { Logger } from '../core/log.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import { applyBounceReport, findBouncedMessage, type ReportClass } from '../store/bounces.js';
import { classifyBounce } from './classify.js';
import { headerValue } from './mime.js';
import { parseBounce } from './parse-bounce.js';
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
 * The bounce processor shared by the IMAP poll and the SMTP pipeline. A DSN changes state only if its VERP
 * address verifies, its id exists, the address equals the message's envelope_from, the message belongs to the
 * polled mailbox (IMAP), and it was sent within BOUNCE_MAX_AGE_DAYS; then one transaction writes the report and
 * its effect (store/bounces.ts), and after the commit its webhook delivery is enqueued. Anything else writes nothing. A database error propagates (transient: the DSN
 * stays for the next poll, the job is retried).
 */
export async function processBounce(deps: BounceProcessorDeps, input: BounceInput): Promise<BounceOutcome> {
  const parsed = parseBounce(input.raw);
  const verp =
    input.source === 'smtp' && input.rcpt !== undefined
      ? checkVerpAddress(input.rcpt, deps.secrets)
      : findVerp(parsed.headers, deps.secrets);
  if (!verp.ok) return { result: 'rejected', reason: verp.reason === 'not_verp' ? 'no_verp' : verp.reason };
  const message = await findBouncedMessage(deps.db, verp.id);
  if (!message) return { result: 'rejected', reason: 'unknown_id', outboundMessageId: verp.id };
  const reject = (reason: RejectReason): BounceOutcome => ({ result: 'rejected', reason, outboundMessageId: verp.id });
  if (message.envelopeFrom?.toLowerCase() !== verp.address) return reject('envelope_mismatch');
  if (input.mailboxId !== undefined && message.mailboxId !== input.mailboxId) return reject('other_mailbox');
  if ((deps.now?.() ?? Date.now()) - message.sentAt.getTime() > deps.maxAgeDays * DAY_MS) return reject('too_old');
  const c = classifyBounce(parsed, message.recipient);
  const applied = await applyBounceReport(deps.db, {
    mailboxId: message.mailboxId,
    outboundMessageId: message.id,
    recipient: message.recipient,
    source: input.source,
    dsnMessageId: headerValue(parsed.headers, 'message-id')?.slice(0, 998) ?? null,
    sha256: bounceDigest(input.raw),
    action: c.action,
    status: c.status,
    diagnostic: c.diagnostic,
    remoteMta: c.remoteMta,
    class: c.class,
  });
  const { webhookDeliveries, ...written } = applied;
  if (deps.webhooks)
    await enqueueWebhookDeliveriesSafely(
      deps.webhooks.queue,
      webhookDeliveries,
      deps.webhooks.log,
      deps.webhooks.enqueueTimeoutMs,
    );
  return { result: 'matched', class: c.class, outboundMessageId: message.id, ...written };
}
