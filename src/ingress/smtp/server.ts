import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../../core/config.js';
import { asAppError, MessageTooLarge, RecipientRejected, SessionTimeLimit, ShuttingDown, TooManyRecipients, type AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { domainOf } from '../../core/address.js';
import type { InboundQueues } from '../../queue/producers.js';
import { enqueueInbound } from '../enqueue.js';
import { collectMessage } from './collect-message.js';
import type { Metrics } from '../../ops/metrics.js';

export interface SmtpIngressDeps {
  config: Config;
  log: Logger;
  inbound: InboundQueues;
  metrics?: Metrics;
  /** extra checks on a new connection (rate limits); reject with an AppError */
  onConnect?: (session: SMTPServerSession) => Promise<void>;
  /** false while the role drains for shutdown: new sessions and new transactions get 421 */
  accepting?: () => boolean;
  /** counts each message from DATA to its enqueue's answer as work in flight (adaptive Redis auto-pipelining) */
  busy?: <T>(work: Promise<T>) => Promise<T>;
}

/** smtp-server reads `responseCode`; enhanced status codes are part of our text. */
export const toSmtpError = (err: AppError): Error & { responseCode: number } =>
  Object.assign(new Error(err.smtp.text), { responseCode: err.smtp.code });

/**
 * The time limits of one session. `phase` is where the transaction is: 'command' (between transactions or
 * in the envelope), 'data' (from the 354 to the final dot), 'reply' (the message is in and being enqueued).
 */
interface SessionClock {
  startedAt: number;
  session: NodeJS.Timeout;
  data?: NodeJS.Timeout;
  phase: 'command' | 'data' | 'reply';
  /** aborts the collection of the message being received */
  abort?: AbortController;
  /** which limit was reached; in the 'reply' phase the 421 waits until the message has its reply */
  expired?: 'session' | 'data';
  /** the 421 was sent */
  ended?: boolean;
}

/**
 * smtp-server refuses a `MAIL FROM … SIZE=` above the limit itself, with `552` and no enhanced status code (it
 * adds codes only when they are on for every reply, and ours are part of our texts). That one reply gets the
 * text a message found too large while it is received gets: `552 5.3.4 …`.
 */
const tooLarge = new MessageTooLarge('declared size over the limit');
function sizeReplyWithCode(connection: SMTPServer['connections'] extends Set<infer C> ? C : never) {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => send(code, code === 552 && typeof data === 'string' && !/^5\.\d{1,3}\.\d{1,3} /.test(data) ? tooLarge.smtp.text : data, context);
}

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

  // Slow clients: SMTP_SOCKET_TIMEOUT_MS is an idle timeout that any byte resets, so a client trickling
  // bytes would keep its session (and the message collected so far) forever. Every session gets a timer
  // for SMTP_MAX_SESSION_MS from onConnect and every DATA one for SMTP_MAX_DATA_MS from the 354 to the
  // final dot; onClose clears them. A limit reached mid-DATA abandons the message (no 250, no job).
  const clocks = new Map<string, SessionClock>();
  const timeLimit = new SessionTimeLimit('SMTP time limit reached');
  const sendTimeLimit = (session: SMTPServerSession, clock: SessionClock) => {
    clock.ended = true;
    clock.abort?.abort();
    metrics?.smtpReplies.inc({ code: String(timeLimit.smtp.code) });
    log.info({ event: 'smtp.time_limit', session: session.id, limit: clock.expired, phase: clock.phase, ageMs: Date.now() - clock.startedAt });
    // smtp-server gives handlers the session only; its public `connections` set has the connection, whose
    // send(421) writes the reply and closes the socket (the same path as server.close() and drainSmtp)
    for (const connection of server.connections) {
      if (connection.session === session) { connection.send(timeLimit.smtp.code, timeLimit.smtp.text, false); break; }
    }
  };
  const expire = (session: SMTPServerSession, clock: SessionClock, limit: 'session' | 'data') => {
    clearTimeout(clock.session);
    clearTimeout(clock.data);
    if (clock.expired) return;
    clock.expired = limit;
    // a message fully received is being enqueued: it gets its reply (250 or 451) first, then the 421
    if (clock.phase !== 'reply') sendTimeLimit(session, clock);
  };

  const server: SMTPServer = new SMTPServer({
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
      for (const connection of server.connections) {
        if (connection.session === session) { sizeReplyWithCode(connection); break; }
      }
      // started before any await: onClose may come while deps.onConnect is still pending
      const clock: SessionClock = { startedAt: Date.now(), phase: 'command', session: setTimeout(() => expire(session, clock, 'session'), config.smtp.maxSessionMs).unref() };
      clocks.set(session.id, clock);
      metrics?.smtpOpenSessions.inc();
      if (deps.accepting && !deps.accepting()) return callback(reject(new ShuttingDown('draining'), session, 'connect'));
      if (!deps.onConnect) return callback();
      deps.onConnect(session).then(() => callback(), (err: unknown) => callback(reject(err, session, 'connect')));
    },
    onClose(session) {
      const clock = clocks.get(session.id);
      if (!clock) return;
      clearTimeout(clock.session);
      clearTimeout(clock.data);
      clocks.delete(session.id);
      metrics?.smtpOpenSessions.dec();
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
      const clock = clocks.get(session.id);
      const abort = new AbortController();
      if (clock) {
        clock.phase = 'data';
        clock.abort = abort;
        clock.data = setTimeout(() => expire(session, clock, 'data'), config.smtp.maxDataMs).unref();
        stream.once('end', () => {
          clearTimeout(clock.data);
          if (!clock.expired) clock.phase = 'reply';
        });
      }
      const reply = (err: Error | null, message?: string) => {
        if (clock) {
          clearTimeout(clock.data);
          clock.phase = 'command';
          clock.abort = undefined;
        }
        callback(err, message);
        // the session limit was reached while this message was being enqueued: its reply is out, now the 421
        if (clock?.expired && !clock.ended) sendTimeLimit(session, clock);
      };
      let endOfData = Date.now();
      const received = collectMessage(stream, config.mail.maxMessageBytes, abort.signal)
        .then((raw) => {
          if (abort.signal.aborted) throw timeLimit;
          endOfData = Date.now();
          return enqueueInbound(inbound, {
            source: 'smtp',
            envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null, to: session.envelope.rcptTo.map((r) => r.address) },
            raw,
            remoteAddress: session.remoteAddress,
          }, config.redis.enqueueTimeoutMs, log);
        });
      // from DATA to the enqueue's answer, a message counts as work in flight (adaptive auto-pipelining)
      (deps.busy ? deps.busy(received) : received)
        .then((ingressId) => {
          metrics?.smtpReplies.inc({ code: '250' });
          metrics?.enqueued.inc({ source: 'smtp' });
          log.info({ event: 'smtp.queued', session: session.id, ingressId, ms: Date.now() - endOfData });
          reply(null, `2.0.0 Ok: queued as ${ingressId}`);
        })
        // after a time limit the 421 is already out (and counted); the socket is closing
        .catch((err: unknown) => reply(abort.signal.aborted ? toSmtpError(timeLimit) : reject(err, session, 'data')));
    },
  });
  return server;
}
