import { UnrecoverableError, type Job } from 'bullmq';
import { asAppError } from '../core/errors.js';
import { messagesOf, type InboundJob, type InboundMessage } from '../queue/payloads.js';
import { normalizeAddress } from '../store/mailboxes.js';
import type { PipelineDeps } from './context.js';
import { deliverOne } from './deliver.js';
import { Dropped } from './dropped.js';
import { parseRaw, type ParsedMessage } from './parse.js';

export type Outcome =
  | { recipient: string; messageId: string; duplicate: boolean }
  | { recipient: string; dropped: string };

/**
 * BullMQ processor for the inbound queues: runs the pipeline once per distinct recipient of each message of
 * the job. A dropped recipient is logged and counted and the loop goes on; a transient error rethrows so
 * BullMQ retries the job with backoff (recipients already stored are idempotent).
 * A batch job delivers its messages concurrently, so their writes share the delivery batcher's group commit,
 * and every message is tried in every attempt: a message that fails does not hold back the others (they are
 * stored in that attempt, and the job's retries find them stored); the job fails, and is retried, for it.
 */
export function createInboundProcessor(deps: PipelineDeps) {
  const deliverMessage = async (data: InboundMessage, jobId: string | undefined): Promise<Outcome[]> => {
    const log = deps.log.child({ component: 'pipeline', jobId, ingressId: data.ingressId });
    const raw = Buffer.from(data.rawBase64, 'base64');
    let parsed: Promise<ParsedMessage> | undefined;
    const parse = () => (parsed ??= parseRaw(raw, deps.config.worker.parseTimeoutMs, deps.config.extract, deps.config.parse));
    const ackedAt = Date.parse(data.receivedAt);

    const outcomes: Outcome[] = [];
    for (const recipient of [...new Set(data.envelope.to.map(normalizeAddress))]) {
      try {
        const done = await deliverOne({ job: data, recipient, raw, parse }, { ...deps, log });
        outcomes.push({ recipient, messageId: done.messageId, duplicate: done.duplicate });
        if (done.duplicate) {
          deps.metrics.duplicates.inc();
          log.info({ event: 'inbound.duplicate', recipient, messageId: done.messageId });
        } else {
          deps.metrics.delivered.inc();
          deps.metrics.pipelineSeconds.observe({ stage: 'published' }, (Date.now() - ackedAt) / 1000);
          log.info({ event: 'inbound.stored', recipient, messageId: done.messageId, seq: done.seq, bytes: raw.length, parseError: done.parsed.parseError ?? undefined });
        }
      } catch (err) {
        if (!(err instanceof Dropped)) throw err;
        deps.metrics.dropped.inc({ reason: err.reason });
        log.info({ event: 'inbound.dropped', recipient, reason: err.reason, mailboxId: err.mailboxId ?? undefined });
        if (err.mailboxId) await deps.stores.mailboxes.recordDrop(err.mailboxId);
        outcomes.push({ recipient, dropped: err.reason });
      }
    }
    return outcomes;
  };

  const permanent = (err: unknown) => {
    const e = asAppError(err);
    return e.retryable ? err : new UnrecoverableError(`${e.code}: ${e.message}`);
  };

  return async (job: Job<InboundJob>): Promise<Outcome[]> => {
    const messages = messagesOf(job.data);
    if (!messages) throw new UnrecoverableError(`unknown inbound job version ${String((job.data as { v?: unknown }).v)}`);
    const settled = await Promise.allSettled(messages.map((m) => deliverMessage(m, job.id)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw permanent(failed.reason);
    return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  };
}
