import { UnrecoverableError, type Job } from 'bullmq';
import { asAppError } from '../core/errors.js';
import { decodeRaw, INBOUND_JOB_VERSION, type InboundJob } from '../queue/payloads.js';
import { normalizeAddress } from '../core/address.js';
import type { PipelineDeps } from './context.js';
import { deliverOne } from './deliver.js';
import { Dropped, HandedToBounces } from './dropped.js';
import { parseRaw, ParseTimedOut, type ParsedMessage } from './parse.js';
import { parseAttemptLimits, type ParseRetry } from './parse-retry.js';

export type Outcome =
  | { recipient: string; messageId: string; duplicate: boolean }
  | { recipient: string; dropped: string }
  | { recipient: string; deferred: 'parse_timeout' }
  | { recipient: string; bounce: string };

/**
 * BullMQ processor for the inbound queue: runs the pipeline once per distinct recipient.
 * A dropped recipient is logged and counted and the loop goes on; a transient error rethrows so BullMQ
 * retries the job with backoff (recipients already stored are idempotent). A parse that timed out is handed,
 * with the recipients left, to `parseRetry` (parse-retry.ts) when there is one and this is not the retry already.
 */
export function createInboundProcessor(deps: PipelineDeps & { parseRetry?: ParseRetry }) {
  // only the job's id and data are read: a test hands it a plain { id, data } (no BullMQ Job cast into shape)
  return async (job: Pick<Job<InboundJob>, 'id' | 'data'>): Promise<Outcome[]> => {
    const data = job.data;
    if (data.v !== INBOUND_JOB_VERSION) throw new UnrecoverableError(`unknown inbound job version ${String(data.v)}`);
    const log = deps.log.child({ component: 'pipeline', jobId: job.id, ingressId: data.ingressId });
    const raw = decodeRaw(data);
    if (!raw) throw new UnrecoverableError('inbound job without raw bytes (neither rawAscii nor rawBase64)');
    let parsed: Promise<ParsedMessage> | undefined;
    const limits = parseAttemptLimits(data, deps.config, deps.parseRetry !== undefined);
    const parse = () =>
      (parsed ??= parseRaw(raw, limits.timeoutMs, deps.config.extract, deps.config.parse, {
        timeoutIsFinal: limits.timeoutIsFinal,
      }));
    const ackedAt = Date.parse(data.receivedAt);

    const outcomes: Outcome[] = [];
    const recipients = [...new Set(data.envelope.to.map(normalizeAddress))];
    for (const [i, recipient] of recipients.entries()) {
      try {
        const done = await deliverOne({ job: data, recipient, raw, parse }, { ...deps, log });
        outcomes.push({ recipient, messageId: done.messageId, duplicate: done.duplicate });
        if (done.duplicate) {
          deps.metrics.duplicates.inc();
          log.info({ event: 'inbound.duplicate', recipient, messageId: done.messageId });
        } else {
          deps.metrics.delivered.inc();
          deps.metrics.pipelineSeconds.observe({ stage: 'published' }, (Date.now() - ackedAt) / 1000);
          log.info({
            event: 'inbound.stored',
            recipient,
            messageId: done.messageId,
            seq: done.seq,
            bytes: raw.length,
            parseError: done.parsed.parseError ?? undefined,
          });
        }
      } catch (err) {
        if (err instanceof HandedToBounces) {
          log.info({ event: 'inbound.bounce', recipient, detail: err.detail });
          outcomes.push({ recipient, bounce: err.detail });
          continue;
        }
        if (err instanceof ParseTimedOut && deps.parseRetry) {
          // nothing of this job was parsed-and-stored yet (the parse comes before the first store): the rest waits
          const rest = recipients.slice(i);
          await deps.parseRetry.defer(data, rest);
          deps.metrics.parseRetries.inc();
          log.warn({
            event: 'inbound.parse_deferred',
            recipients: rest.length,
            bytes: raw.length,
            timeoutMs: err.timeoutMs,
          });
          for (const r of rest) outcomes.push({ recipient: r, deferred: 'parse_timeout' });
          return outcomes;
        }
        if (err instanceof Dropped) {
          deps.metrics.dropped.inc({ reason: err.reason });
          log.info({ event: 'inbound.dropped', recipient, reason: err.reason, mailboxId: err.mailboxId ?? undefined });
          if (err.mailboxId) await deps.stores.mailboxes.recordDrop(err.mailboxId);
          outcomes.push({ recipient, dropped: err.reason });
          continue;
        }
        const e = asAppError(err);
        if (e.retryable) throw err;
        throw new UnrecoverableError(`${e.code}: ${e.message}`);
      }
    }
    return outcomes;
  };
}
