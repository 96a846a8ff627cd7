import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../../core/config.js';
import {
  RecipientRejected,
  SessionTimeLimit,
  ShuttingDown,
  TooManyRecipients,
  VerpRecipientRejected,
} from '../../core/errors.js';
import { isVerpLocalPart, verifyVerpAddress } from '../../core/verp.js';
import type { Logger } from '../../core/log.js';
import { domainOf } from '../../core/address.js';
import { StartError } from '../../core/shutdown.js';
import type { InboundQueues } from '../../queue/producers.js';
import { enqueueInbound } from '../enqueue.js';
import { ClientGone, collectMessage } from './collect-message.js';
import { createDataBudget, type DataBudget } from './data-budget.js';
import { createRefusals, toSmtpError } from './refusals.js';
import { createSessionClocks } from './session-clock.js';
import { createSessionSlots } from './session-slots.js';
import { withSizeReplyCode } from './size-reply.js';
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
  /** the VERP secrets (access/secret.ts): a `bounce+` RCPT that does not verify against them is a 550 5.1.1 */
  bounceSecrets?: readonly string[];
  /** counts each message from DATA to its enqueue's answer as work in flight (adaptive Redis auto-pipelining) */
  busy?: <T>(work: Promise<T>) => Promise<T>;
  /** SMTP_MAX_DATA_BYTES_IN_FLIGHT, shared by every listener of the process (default: one for this listener) */
  dataBudget?: DataBudget;
}

/** A key or certificate file, or a StartError naming its variable (the entrypoint prints one line, exit 1). */
function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new StartError(
      `${variable} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): set ${variable} to a readable PEM file`,
      { cause: err },
    );
  }
}

/** What the SMTP ingress says and allows before any hook: name, banner, SIZE, AUTH, STARTTLS, connection limits. */
function listenerOptions(config: Config): SMTPServerOptions {
  const tls =
    config.smtp.tlsKeyFile && config.smtp.tlsCertFile
      ? {
          key: readPem(config.smtp.tlsKeyFile, 'SMTP_TLS_KEY_FILE'),
          cert: readPem(config.smtp.tlsCertFile, 'SMTP_TLS_CERT_FILE'),
        }
      : undefined;
  return {
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
    // the sessions themselves are admitted by session-slots.ts (per-address cap, reserve, eviction of the idlest);
    // smtp-server's own limit only bounds connections still before onConnect (its 100 ms early-talker wait)
    maxClients: 2 * config.smtp.maxClients,
    socketTimeout: config.smtp.socketTimeoutMs,
    closeTimeout: config.smtp.closeTimeoutMs,
    logger: false,
  };
}

/**
 * SMTP ingress: validates the envelope against configuration (never the database), enqueues the raw
 * message and answers 250 only once Redis has the job. `extra` adds smtp-server options (`secure: true` for the
 * implicit TLS listener, test settings); the hooks are the same on every listener.
 */
export function createSmtpIngress(deps: SmtpIngressDeps, extra: Partial<SMTPServerOptions> = {}): SMTPServer {
  const { config, log, inbound, metrics } = deps;
  const domains = new Set(config.mail.domains);
  const dataBudget = deps.dataBudget ?? createDataBudget(config.smtp.maxDataBytesInFlight);

  // every refusal is counted, the first few of a kind per session logged (refusals.ts)
  const refusals = createRefusals({ log, metrics, logRejectsPerSession: config.smtp.logRejectsPerSession });
  const reject = refusals.reject;

  // session time limits (SMTP_MAX_SESSION_MS, SMTP_MAX_DATA_MS): see session-clock.ts
  const timeLimit = new SessionTimeLimit('SMTP time limit reached');
  const clocks = createSessionClocks<SMTPServerSession>({
    maxSessionMs: config.smtp.maxSessionMs,
    maxDataMs: config.smtp.maxDataMs,
    onLimit(session, { limit, phase, ageMs }) {
      metrics?.smtpReplies.inc({ code: String(timeLimit.smtp.code) });
      log.info({ event: 'smtp.time_limit', session: session.id, limit, phase, ageMs });
      // send(421) writes the reply and closes the socket (the same path as server.close() and drainSmtp)
      connectionOf(session)?.send(timeLimit.smtp.code, timeLimit.smtp.text, false);
    },
  });
  // smtp-server gives handlers the session only; its public `connections` set has the connection
  const connectionOf = (session: SMTPServerSession) => {
    for (const connection of server.connections) if (connection.session === session) return connection;
    return undefined;
  };

  // who gets one of the SMTP_MAX_CLIENTS sessions (session-slots.ts)
  const slots = createSessionSlots(config, { log, metrics, connections: () => server.connections });

  const server: SMTPServer = new SMTPServer({
    ...listenerOptions(config),
    ...extra,
    onConnect(session, callback) {
      metrics?.smtpSessions.inc();
      refusals.open(session);
      const connection = connectionOf(session);
      if (connection) withSizeReplyCode(connection);
      // started before any await: onClose may come while deps.onConnect is still pending
      clocks.open(session);
      metrics?.smtpOpenSessions.inc();
      if (deps.accepting && !deps.accepting())
        return callback(reject(new ShuttingDown('draining'), session, 'connect'));
      const refused = slots.admit(session, connection);
      if (refused) return callback(reject(refused, session, 'connect'));
      if (!deps.onConnect) return callback();
      deps.onConnect(session).then(
        () => callback(),
        (err: unknown) => callback(reject(err, session, 'connect')),
      );
    },
    onClose(session) {
      if (clocks.close(session)) metrics?.smtpOpenSessions.dec();
      slots.release(session);
      refusals.close(session);
    },
    onMailFrom(_address, session, callback) {
      if (deps.accepting && !deps.accepting()) return callback(reject(new ShuttingDown('draining'), session, 'mail'));
      callback();
    },
    onRcptTo(address, session, callback) {
      if (!domains.has(domainOf(address.address))) {
        return callback(reject(new RecipientRejected(`domain of ${address.address} is not accepted`), session, 'rcpt'));
      }
      if (deps.bounceSecrets && isVerpLocalPart(address.address.slice(0, address.address.lastIndexOf('@')))) {
        const check = verifyVerpAddress(address.address, deps.bounceSecrets);
        if (!check.ok)
          return callback(reject(new VerpRecipientRejected(`VERP address ${check.reason}`), session, 'rcpt'));
      }
      if (session.envelope.rcptTo.length >= config.smtp.maxRecipients) {
        return callback(reject(new TooManyRecipients('too many recipients'), session, 'rcpt'));
      }
      callback();
    },
    onData(stream, session, callback) {
      const clock = clocks.data(session);
      slots.busy(session, true);
      stream.once('end', () => clock.received());
      const reply = (err: Error | null, message?: string) => {
        slots.busy(session, false);
        callback(err, message);
        clock.replied();
      };
      let endOfData = Date.now();
      // the message's bytes stay in SMTP_MAX_DATA_BYTES_IN_FLIGHT until its enqueue has answered
      const collected = collectMessage(stream, config.mail.maxMessageBytes, clock.signal, dataBudget);
      const received = collected.then(async (raw) => {
        try {
          if (clock.signal.aborted) throw timeLimit;
          endOfData = Date.now();
          return await enqueueInbound(
            inbound,
            {
              source: 'smtp',
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null,
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              raw,
              remoteAddress: session.remoteAddress,
            },
            config.redis.enqueueTimeoutMs,
            log,
          );
        } finally {
          dataBudget.release(raw.length);
        }
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
        .catch((err: unknown) => {
          if (clock.signal.aborted) reply(toSmtpError(timeLimit));
          else if (err instanceof ClientGone) reply(refusals.clientGone(session, 'data'));
          else reply(reject(err, session, 'data'));
        });
    },
  });
  return server;
}
