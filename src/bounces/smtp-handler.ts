import type { Logger } from '../core/log.js';
import type { BounceMetrics } from '../ops/bounce-metrics.js';
import { processBounce, type BounceProcessorDeps } from './process.js';

/**
 * The bounce processor for a DSN that came through our own SMTP to `bounce+…@` one of MAIL_DOMAINS (the pipeline's
 * lookup step calls it instead of dropping the recipient). The RCPT is the VERP address; a rejected one is
 * dropped by the pipeline, never stored as a mailbox message. A job that runs twice writes one report.
 */
export function smtpBounceHandler(deps: BounceProcessorDeps & { log: Logger; metrics: BounceMetrics }) {
  return async ({ raw, rcpt, ingressId }: { raw: Buffer; rcpt: string; ingressId: string }) => {
    try {
      const outcome = await processBounce(deps, { raw, rcpt, source: 'smtp' });
      if (outcome.result === 'rejected') {
        deps.metrics.rejected.inc({ reason: outcome.reason, source: 'smtp' });
        deps.log.info({ event: 'bounce.rejected', source: 'smtp', ingressId, reason: outcome.reason });
        return { result: 'rejected' as const, detail: outcome.reason };
      }
      if (!outcome.duplicate) deps.metrics.matched.inc({ class: outcome.class, source: 'smtp' });
      deps.log.info({
        event: 'bounce.matched',
        source: 'smtp',
        ingressId,
        outboundMessageId: outcome.outboundMessageId,
        class: outcome.class,
        duplicate: outcome.duplicate,
      });
      return { result: 'matched' as const, detail: outcome.class };
    } catch (err) {
      deps.metrics.errors.inc({ source: 'smtp' });
      throw err; // transient (database down): the job is retried
    }
  };
}
