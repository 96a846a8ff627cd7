import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { OutboundJob } from '../queue/payloads.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import type { Db } from '../store/db.js';
import {
  claimOutbound,
  loadOutboundToSend,
  recordOutcomes,
  type Outcome,
  type OutboundToSend,
} from '../store/outbound-delivery.js';
import { createBatcher } from './batcher.js';
import { envelopeFrom } from './envelope.js';
import { SendingNotConfigured } from './errors.js';
import { classifyFailure, retryDelayMs, type Verdict } from './retry-policy.js';
import type { RenderCache } from './render-cache.js';
import type { TransportPool } from './transport.js';

export interface SendProcessorDeps {
  db: Db;
  config: Pick<Config, 'outbound' | 'mail' | 'redis'>;
  log: Logger;
  /** the webhooks queue: an outcome's outbound.* delivery is enqueued after its commit (absent: the sweep adds it) */
  webhooks?: Queue;
  metrics: Pick<Metrics, 'outboundOutcomes' | 'outboundSendSeconds'>;
  pool: TransportPool;
  renders: RenderCache;
  /** BOUNCE_HMAC_SECRET (issue 21, wired at merge): signed VERP envelope senders when set */
  bounceSecret?: string;
  random?: () => number;
}

export type SendResult = 'sent' | 'deferred' | 'failed' | 'suppressed' | 'skipped';

/**
 * The `send` job: one attempt at one outbound message (job data: its id). Claim (store/outbound-delivery.ts),
 * render, one SMTP transaction, record the outcome, all keyed by the row, so a re-run job, a sweeper re-add or a
 * second worker never sends outside the crash window:
 * - 250: `sent`. 5xx on MAIL, RCPT or DATA: `failed`, never retried.
 * - 4xx, timeout, refused or reset connection: `deferred`, back to `queued` with next_retry_at; this job moves to
 *   BullMQ's delayed set until then. After OUTBOUND_MAX_ATTEMPTS: `failed` (`retries_exhausted`).
 * - A worker killed between the relay's 250 and the commit of `sent`: the row stays `sending`; once its
 *   processing_started_at is older than OUTBOUND_LOCK_MS it is claimed again (`sending {"recovered":true}`) and
 *   sent again with the same bytes and Message-ID (at least once).
 */
export function createSendProcessor(deps: SendProcessorDeps) {
  const { outbound } = deps.config;
  const log = deps.log;
  // the outcomes of this worker's concurrent sends are committed together (one transaction per group)
  const recordOutcome = createBatcher((items: Array<{ id: string; attempt: number; outcome: Outcome }>) =>
    recordOutcomes(deps.db, items),
  );

  const delay = async (job: Job<OutboundJob>, token: string | undefined, at: Date): Promise<never> => {
    await job.moveToDelayed(Math.max(at.getTime(), Date.now() + 1), token);
    throw new DelayedError();
  };

  /** Render and send one copy; resolves with the server's reply to the final dot. */
  async function attempt(row: OutboundToSend, envelope: string): Promise<string> {
    const raw = await deps.renders.get(row);
    const transport = await deps.pool.forMailbox(row.mailbox);
    const started = process.hrtime.bigint();
    try {
      return await transport.send({ from: envelope, to: row.recipient }, raw);
    } finally {
      deps.metrics.outboundSendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** After a commit that wrote webhook deliveries: never fails the send (the webhooks scheduler re-adds them). */
  const enqueueWebhooks = (ids: readonly string[]) =>
    enqueueWebhookDeliveriesSafely(deps.webhooks, ids, log, deps.config.redis.enqueueTimeoutMs);

  return async function processSend(job: Job<OutboundJob>, token?: string): Promise<SendResult> {
    const id = job.data.id;
    const row = await loadOutboundToSend(deps.db, id);
    if (!row || (row.status !== 'queued' && row.status !== 'sending')) return 'skipped';
    const envelope = envelopeFrom(
      { outboundMessageId: id, mailbox: row.mailbox, mailDomains: deps.config.mail.domains },
      deps.bounceSecret,
    );
    const claim = await claimOutbound(deps.db, id, envelope, outbound.lockMs);
    switch (claim.kind) {
      case 'not_due':
        return delay(job, token, claim.nextRetryAt);
      case 'busy':
        // this job's earlier run died after its claim: wait until that claim counts as stale, then recover it
        return delay(job, token, claim.staleAt);
      case 'skip':
        return 'skipped';
      case 'suppressed':
        await enqueueWebhooks(claim.webhookDeliveries);
        deps.metrics.outboundOutcomes.inc({ outcome: 'suppressed' });
        log.info({ event: 'outbound.suppressed', outboundId: id, mailboxId: row.mailbox.id });
        return 'suppressed';
      case 'claimed':
        break;
    }
    if (claim.recovered) {
      deps.metrics.outboundOutcomes.inc({ outcome: 'recovered' });
      log.warn({ event: 'outbound.recovered', outboundId: id, attempt: claim.attempt });
    }
    let outcome: Outcome;
    try {
      outcome = { kind: 'sent', response: await attempt(row, envelope) };
    } catch (err) {
      outcome = decide(err, claim.attempt);
    }
    const recorded = await recordOutcome({ id, attempt: claim.attempt, outcome });
    const fields = { outboundId: id, mailboxId: row.mailbox.id, attempt: claim.attempt, stream: row.stream };
    if (!recorded) {
      log.warn({ event: 'outbound.outcome_lost', ...fields, outcome: outcome.kind });
      return 'skipped';
    }
    await enqueueWebhooks(recorded.webhookDeliveries);
    deps.metrics.outboundOutcomes.inc({ outcome: outcome.kind });
    switch (outcome.kind) {
      case 'sent':
        log.info({ event: 'outbound.sent', ...fields, response: outcome.response });
        return 'sent';
      case 'failed':
        log.error({ event: 'outbound.failed', ...fields, reason: outcome.reason, response: outcome.response });
        return 'failed';
      case 'deferred':
        log.warn({
          event: 'outbound.deferred',
          ...fields,
          response: outcome.response,
          nextRetryAt: outcome.nextRetryAt.toISOString(),
        });
        return delay(job, token, outcome.nextRetryAt);
    }
  };

  /** A failed attempt's outcome: permanent → failed; transient → deferred, or failed after the last attempt. */
  function decide(err: unknown, n: number): Outcome {
    if (err instanceof SendingNotConfigured)
      return { kind: 'failed', response: null, reason: 'sending_not_configured' };
    if (err instanceof AppError && !err.retryable && err.status === 422)
      return { kind: 'failed', response: err.message, reason: err.code };
    const verdict: Verdict =
      err instanceof AppError ? { kind: 'transient', response: err.message } : classifyFailure(err);
    if (verdict.kind === 'permanent') return { kind: 'failed', response: verdict.response, reason: 'rejected' };
    if (n >= outbound.maxAttempts) return { kind: 'failed', response: verdict.response, reason: 'retries_exhausted' };
    const wait = retryDelayMs(n, outbound.backoffMs, outbound.backoffMaxMs, deps.random);
    return { kind: 'deferred', response: verdict.response, nextRetryAt: new Date(Date.now() + wait) };
  }
}
