import type { SMTPServerSession } from 'smtp-server';
import { asAppError, type AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { createRejectTally } from './reject-tally.js';

/** only the session's id is read */
type Session = Pick<SMTPServerSession, 'id'>;

/** smtp-server reads `responseCode`; enhanced status codes are part of our text. */
export const toSmtpError = (err: AppError): Error & { responseCode: number } =>
  Object.assign(new Error(err.smtp.text), { responseCode: err.smtp.code });

/**
 * How the ingress answers and records a refusal: every reply is counted; the first SMTP_LOG_REJECTS_PER_SESSION of
 * a kind per session are logged in full (`smtp.rejected`), the rest summed up at the session's close
 * (`smtp.rejected_summary`, reject-tally.ts). A client that hangs up mid-DATA is not a refusal (`smtp.client_gone`).
 */
export function createRefusals(deps: { log: Logger; metrics?: Metrics; logRejectsPerSession: number }) {
  const { log, metrics } = deps;
  const tally = createRejectTally(deps.logRejectsPerSession);
  return {
    open: (session: Session) => tally.open(session.id),

    /** the SMTP error to hand smtp-server for `err`, counted and (within the session's allowance) logged */
    reject: (err: unknown, session: Session, stage: string) => {
      const e = asAppError(err);
      metrics?.smtpReplies.inc({ code: String(e.smtp.code) });
      const level = e.retryable ? 'warn' : 'info';
      if (tally.admit(session.id, { stage, reply: e.smtp.code, code: e.code, level })) {
        log[level]({
          event: 'smtp.rejected',
          stage,
          session: session.id,
          code: e.code,
          reply: e.smtp.code,
          err: e.retryable ? err : undefined,
        });
      }
      return toSmtpError(e);
    },

    /** at the session's close: one line for the refusals that were counted but not logged */
    close: (session: Session) => {
      const summary = tally.close(session.id);
      if (!summary) return;
      const rejected = summary.kinds.map(({ stage, reply, code, count, logged }) => ({
        stage,
        reply,
        code,
        count,
        logged,
      }));
      log[summary.level]({
        event: 'smtp.rejected_summary',
        session: session.id,
        total: summary.total,
        suppressed: summary.suppressed,
        rejected,
      });
    },

    /** the client closed the connection mid-DATA: no reply reaches it and our side did not fail (not a 451) */
    clientGone: (session: Session, stage: string) => {
      metrics?.smtpClientDisconnects.inc({ stage });
      log.info({ event: 'smtp.client_gone', session: session.id, stage });
      return Object.assign(new Error('connection closed by the client'), { responseCode: 421 });
    },
  };
}
