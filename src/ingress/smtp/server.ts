import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Queue } from 'bullmq';
import type { Config } from '../../core/config.js';
import { asAppError, RecipientRejected, ShuttingDown, TooManyRecipients, type AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { InboundJob } from '../../queue/payloads.js';
import { enqueueInbound } from '../enqueue.js';
import { collectMessage } from './collect-message.js';
import type { Metrics } from '../../ops/metrics.js';

export interface SmtpIngressDeps {
  config: Config;
  log: Logger;
  inbound: Queue<InboundJob>;
  metrics?: Metrics;
  /** extra checks on a new connection (rate limits); reject with an AppError */
  onConnect?: (session: SMTPServerSession) => Promise<void>;
  /** false while the role drains for shutdown: new sessions and new transactions get 421 */
  accepting?: () => boolean;
}

/** smtp-server reads `responseCode`; enhanced status codes are part of our text. */
export const toSmtpError = (err: AppError): Error & { responseCode: number } =>
  Object.assign(new Error(err.smtp.text), { responseCode: err.smtp.code });

export const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * SMTP ingress: validates the envelope against configuration (never the database), enqueues the raw
 * message and answers 250 only once Redis has the job.
 */
export function createSmtpIngress(deps: SmtpIngressDeps, extra: Partial<SMTPServerOptions> = {}): SMTPServer {
  const { config, log, inbound, metrics } = deps;
  const domains = new Set(config.mail.domains);
  const tls = config.smtp.tlsKeyFile && config.smtp.tlsCertFile
    ? { key: readFileSync(config.smtp.tlsKeyFile), cert: readFileSync(config.smtp.tlsCertFile) }
    : undefined;

  const reject = (err: unknown, session: SMTPServerSession, stage: string) => {
    const e = asAppError(err);
    metrics?.smtpReplies.inc({ code: String(e.smtp.code) });
    log[e.retryable ? 'warn' : 'info']({ event: 'smtp.rejected', stage, session: session.id, code: e.code, reply: e.smtp.code, err: e.retryable ? err : undefined });
    return toSmtpError(e);
  };

  return new SMTPServer({
    name: config.smtp.hostname,
    banner: 'Mailwright ESMTP',
    size: config.mail.maxMessageBytes,
    authOptional: true,
    // Applications under test usually have SMTP credentials configured: accept any (they are neither
    // checked, logged nor stored), or refuse AUTH entirely with SMTP_AUTH_ACCEPT_ANY=false.
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: [...(config.smtp.authAcceptAny ? [] : ['AUTH']), ...(tls ? [] : ['STARTTLS'])],
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'any' });
    },
    ...(tls ?? {}),
    maxClients: config.smtp.maxClients,
    socketTimeout: config.smtp.socketTimeoutMs,
    closeTimeout: config.smtp.closeTimeoutMs,
    logger: false,
    ...extra,
    onConnect(session, callback) {
      metrics?.smtpSessions.inc();
      if (deps.accepting && !deps.accepting()) return callback(reject(new ShuttingDown('draining'), session, 'connect'));
      if (!deps.onConnect) return callback();
      deps.onConnect(session).then(() => callback(), (err: unknown) => callback(reject(err, session, 'connect')));
    },
    onMailFrom(_address, session, callback) {
      if (deps.accepting && !deps.accepting()) return callback(reject(new ShuttingDown('draining'), session, 'mail'));
      callback();
    },
    onRcptTo(address, session, callback) {
      if (!domains.has(domainOf(address.address))) {
        return callback(reject(new RecipientRejected(`domain of ${address.address} is not accepted`), session, 'rcpt'));
      }
      if (session.envelope.rcptTo.length >= config.smtp.maxRecipients) {
        return callback(reject(new TooManyRecipients('too many recipients'), session, 'rcpt'));
      }
      callback();
    },
    onData(stream, session, callback) {
      const endOfData = Date.now();
      collectMessage(stream, config.mail.maxMessageBytes)
        .then((raw) =>
          enqueueInbound(inbound, {
            source: 'smtp',
            envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null, to: session.envelope.rcptTo.map((r) => r.address) },
            raw,
            remoteAddress: session.remoteAddress,
          }, config.redis.enqueueTimeoutMs),
        )
        .then((ingressId) => {
          metrics?.smtpReplies.inc({ code: '250' });
          metrics?.enqueued.inc({ source: 'smtp' });
          log.info({ event: 'smtp.queued', session: session.id, ingressId, ms: Date.now() - endOfData });
          callback(null, `2.0.0 Ok: queued as ${ingressId}`);
        })
        .catch((err: unknown) => callback(reject(err, session, 'data')));
    },
  });
}
