import type { Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import { JOB } from '../queue/names.js';
import type { InboundJob } from '../queue/payloads.js';

/** The attempt whose timeout is final: the retry. */
export const FINAL_PARSE_ATTEMPT = 2;

/**
 * A parse that timed out under load is retried before the message is stored as a parse failure (issue 24: five
 * messages of ~1,000 parts were kept unreadable because 64 jobs shared the thread; alone they parsed in 0.36 s).
 * The retry is a new job for the recipients not yet delivered, in the `inbound-large` queue (WORKER_LARGE_CONCURRENCY
 * jobs at a time, 2 by default, instead of WORKER_CONCURRENCY), after PARSE_RETRY_DELAY_MS, parsed under
 * PARSE_RETRY_TIMEOUT_MS; its timeout is kept as the parse failure. Its job id is derived from the ingress id, so a
 * first attempt that runs again (a worker killed after queueing the retry) queues nothing twice; deliveries are
 * idempotent per ingress id anyway.
 */
export interface ParseRetry {
  defer(job: InboundJob, recipients: string[]): Promise<void>;
}

export function parseRetryQueue(queue: Queue<InboundJob>, config: Pick<Config, 'worker'>): ParseRetry {
  return {
    async defer(job, recipients) {
      const data: InboundJob = {
        ...job,
        envelope: { ...job.envelope, to: recipients },
        parseAttempt: FINAL_PARSE_ATTEMPT,
      };
      await queue.add(JOB.deliver, data, {
        jobId: `${job.ingressId}-parse-retry`,
        delay: config.worker.parseRetry.delayMs,
      });
    },
  };
}

/** The parse limit of an attempt, and whether its timeout is final (no retry to hand it to, or this is the retry). */
export function parseAttemptLimits(
  job: Pick<InboundJob, 'parseAttempt'>,
  config: Pick<Config, 'worker'>,
  canRetry: boolean,
) {
  const attempt = job.parseAttempt ?? 1;
  return {
    timeoutMs: attempt >= FINAL_PARSE_ATTEMPT ? config.worker.parseRetry.timeoutMs : config.worker.parseTimeoutMs,
    timeoutIsFinal: !canRetry || attempt >= FINAL_PARSE_ATTEMPT,
  };
}
