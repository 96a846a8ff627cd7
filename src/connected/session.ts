import { ImapFlow, type ImapFlowError } from 'imapflow';
import type { Knex } from 'knex';
import type { Config } from '../core/config.js';
import { AppError, Unavailable } from '../core/errors.js';
import { open, type KeyRing } from '../core/secret-box.js';
import { passwordAad, sealedPassword } from '../store/connected-mailboxes.js';
import type { Mailbox } from '../store/mailboxes.js';
import { checkedHost, connectedGuard } from './account.js';
import { ConnectedDisabled, ImapAuthFailed, ImapBusy, ImapTimeout, ImapUnavailable } from './errors.js';
import { imapOptions } from './imap-options.js';
import { serverText } from './server-text.js';
import { SessionLimiter } from './session-limiter.js';
import { bytesReadOf, sessionRecorder, socketOf } from './session-metrics.js';
import type { Metrics } from '../ops/metrics.js';

export interface BridgeDeps {
  db: Knex;
  config: Config;
  credentials?: KeyRing;
  /** sessions by outcome, their duration, bytes fetched, imap_busy refusals (absent: not recorded) */
  metrics?: Metrics;
}

/** One IMAP session of one request: `run` bounds each step by IMAP_TIMEOUT_MS, `end` always ends it with LOGOUT. */
export interface ImapSession {
  run<T>(work: (client: ImapFlow) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

const TIMED_OUT = Symbol('timed out');

/** How long a closed session's slot stays taken, so its socket is closed at the OS before the next one opens. */
const SLOT_RELEASE_AFTER_CLOSE_MS = 20;

/** One limiter per configuration, that is per web process (a test system has its own). */
const limiters = new WeakMap<Config, SessionLimiter>();
function limiterFor(config: Config): SessionLimiter {
  let limiter = limiters.get(config);
  if (!limiter) {
    const c = config.connected;
    limiter = new SessionLimiter(c.imapMaxConnectionsPerMailbox, c.imapQueueMax, c.imapTimeoutMs);
    limiters.set(config, limiter);
  }
  return limiter;
}

/** `work` within `ms`, or TIMED_OUT (the timer never keeps the process alive). */
async function bounded<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Log in to a connected mailbox's IMAP account: its password opened from the database (AAD bound to the row), the
 * host checked again by the guard (DNS may have changed since creation), one imapflow connection without logger.
 * 504 imap_timeout past IMAP_TIMEOUT_MS, 502 imap_auth_failed when the stored credentials are refused, 502
 * imap_unavailable for anything else on the way. At most IMAP_MAX_CONNECTIONS_PER_MAILBOX sessions of one mailbox
 * at once in this process, IMAP_QUEUE_MAX more waiting: else 503 imap_busy before any connection.
 */
export async function openImapSession(
  deps: BridgeDeps,
  mailbox: Mailbox,
  /** `bounce_imap`: the bounce inbox the poll reads (issue 21), with its own limiter slots */
  account: 'imap' | 'bounce_imap' = 'imap',
): Promise<ImapSession> {
  const ring = deps.credentials;
  if (!ring) throw new ConnectedDisabled();
  const sealed = await sealedPassword(deps.db, mailbox.id, account);
  const settings = account === 'imap' ? mailbox.imap : mailbox.bounceImap;
  if (!settings || !sealed) throw new Unavailable(`this connected mailbox has no ${account} credentials`);
  const password = open(ring, sealed, passwordAad(account, mailbox.id));
  const { host, port, tls, username } = settings;
  const login = { host, port, tls, username, password };
  const ms = deps.config.connected.imapTimeoutMs;
  const release = await limiterFor(deps.config)
    .acquire(account === 'imap' ? mailbox.id : `${mailbox.id}:${account}`)
    .catch((err: unknown) => {
      if (err instanceof ImapBusy) deps.metrics?.imapBusy.inc();
      throw err;
    });
  const recorder = sessionRecorder(deps.metrics);
  let client: ImapFlow;
  try {
    const checked = await checkedHost(connectedGuard(deps.config.connected.allowHosts, account), login, account);
    client = new ImapFlow(imapOptions(login, checked, ms));
  } catch (err) {
    release();
    throw err;
  }
  client.on('error', () => undefined);
  // the slot is given back when the TCP connection has closed, not when LOGOUT is answered: released earlier, the
  // next session's connection opened while this one was still closing (3 at once under a cap of 2, seen in CI)
  // imapflow emits 'close' when it destroys the socket; Node closes the descriptor (sending FIN) on a later turn of
  // the event loop, so the slot waits SLOT_RELEASE_AFTER_CLOSE_MS more (a loopback proxy in the tests still saw 3)
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const releaseWhenClosed = () =>
    void bounded(closed, ms)
      .then(() => new Promise((resolve) => setTimeout(resolve, SLOT_RELEASE_AFTER_CLOSE_MS)))
      .finally(() => {
        recorder.done(bytesReadOf(socket ?? socketOf(client)));
        release();
      });
  let stuck = false;
  let socket: ReturnType<typeof socketOf>;

  let endPromise: Promise<void> | undefined;
  const end = () =>
    (endPromise ??= (async () => {
      try {
        if (!client.usable) return client.close();
        if (stuck) return forceLogout(client);
        // a command still queued would hold logout() back: bounded, then forced
        if ((await bounded(client.logout(), ms).catch(() => TIMED_OUT)) === TIMED_OUT) forceLogout(client);
      } finally {
        releaseWhenClosed();
      }
    })());

  try {
    const connected = await bounded(client.connect(), ms);
    if (connected === TIMED_OUT) throw new ImapTimeout(`the IMAP server did not answer within ${ms} ms`);
    socket = socketOf(client);
  } catch (err) {
    const mapped = mapImapError(err, password);
    recorder.failed(mapped);
    client.close();
    releaseWhenClosed();
    throw mapped;
  }
  return {
    async run(work) {
      try {
        const result = await bounded(work(client), ms);
        if (result === TIMED_OUT) {
          stuck = true;
          throw new ImapTimeout(`the IMAP server did not answer within ${ms} ms`);
        }
        return result;
      } catch (err) {
        const mapped = mapImapError(err, password);
        recorder.failed(mapped);
        throw mapped;
      }
    },
    end,
  };
}

/**
 * After a timed-out command imapflow's logout() would queue behind it and never reach the wire: write LOGOUT on the
 * socket ourselves (`unbind()`, imapflow's documented way to take the socket over), then close.
 */
function forceLogout(client: ImapFlow): void {
  try {
    const { writeSocket, socket } = client.unbind();
    writeSocket.write('MWLOGOUT LOGOUT\r\n');
    setTimeout(() => socket.destroy(), 200).unref();
  } catch {
    /* the socket is already gone */
  }
  client.close();
}

/** What an IMAP failure is for the API: ours (AppError) as it is; refused credentials; else unavailable. */
function mapImapError(err: unknown, password: string): AppError {
  if (err instanceof AppError) return err;
  const e = err as ImapFlowError;
  if (e.authenticationFailed)
    return new ImapAuthFailed(
      `the IMAP server refused the stored credentials: ${serverText(e.responseText ?? e.message, password)}`,
    );
  if (e.code === 'CONNECT_TIMEOUT' || e.code === 'GREETING_TIMEOUT' || e.code === 'ETIMEOUT')
    return new ImapTimeout(`the IMAP server did not answer in time (${e.code})`);
  const text = serverText([e.code, e.responseText ?? e.message].filter(Boolean).join(': '), password);
  return new ImapUnavailable(`the IMAP server is unavailable: ${text}`);
}

/** One session around `work`: connect, run, and LOGOUT on every path. */
export async function withImap<T>(
  deps: BridgeDeps,
  mailbox: Mailbox,
  work: (client: ImapFlow) => Promise<T>,
): Promise<T> {
  const session = await openImapSession(deps, mailbox);
  try {
    return await session.run(work);
  } finally {
    await session.end();
  }
}
