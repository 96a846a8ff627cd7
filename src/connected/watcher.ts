import { ImapFlow, type ImapFlowError } from 'imapflow';
import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { open, type KeyRing } from '../core/secret-box.js';
import { within } from '../core/timeout.js';
import type { Metrics } from '../ops/metrics.js';
import { publishSafely, type Publisher } from '../pubsub/events.js';
import type { Queues } from '../queue/producers.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';
import { passwordAad, sealedPassword } from '../store/connected-mailboxes.js';
import type { Db } from '../store/db.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import { checkedHost, connectedGuard } from './account.js';
import { imapOptions } from './imap-options.js';
import { inboxCursor, inboxCursorParam, itemsAbove, WATCHED_FOLDER } from './inbox-feed.js';
import { recordReceived } from './received-events.js';
import { serverText } from './server-text.js';

export interface WatcherDeps {
  config: Config;
  db: Db;
  credentials?: KeyRing;
  log: Logger;
  publisher: Publisher;
  /** where the last published cursor is kept (a position, never a secret) */
  redis: RedisClient;
  metrics: Pick<Metrics, 'connectedWatchEvents'>;
  /** the webhooks queue: a message.received delivery is enqueued after its commit (absent: the webhooks sweep) */
  queues?: Pick<Queues, 'webhooks'>;
  /** the mailbox as it is now (settings re-read at every connect) */
  findMailbox(id: string): Promise<Mailbox | undefined>;
}

/** New messages fetched and published per round (a larger arrival is published in several rounds). */
const FETCH_BATCH = 100;
/** How long the last published cursor is kept without a watcher (a mailbox deleted meanwhile needs none). */
const CURSOR_TTL_S = 30 * 24 * 60 * 60;

/**
 * The delay before reconnect attempt `attempt` (0, 1, ...): `min` doubled per attempt up to `max`, with "equal
 * jitter" (half of it fixed, half random), so watchers dropped together by one server do not come back together.
 */
export function backoffMs(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The IDLE watcher of one connected mailbox's INBOX (the worker role runs it while it holds the mailbox's lease,
 * see watch-pool.ts). One IMAP connection: LOGIN, EXAMINE INBOX, then IDLE (re-IDLE every CONNECTED_WATCH_REIDLE_MS;
 * a NOOP every CONNECTED_WATCH_POLL_MS where the server has no IDLE). Each EXISTS it is told of fetches the
 * headers and BODYSTRUCTURE of the UIDs above the last one published, and publishes each as `new_message` on the
 * mailbox's channel, cursor `<uidvalidity>.<uid>`, in UID order. Before publishing, the new messages are recorded
 * as `message.received` events with their webhook deliveries when the mailbox's webhook subscribes (one statement;
 * the event's unique key is the message id `<uidvalidity>.<uid>.<folder>`, so two watchers, a restart or a lost
 * cursor never record one UID twice), and the deliveries are enqueued after that commit. A recording that fails
 * (Postgres away) fails the catch-up like an IMAP error: the connection is reopened after a backoff and goes on from
 * the last UID published, so no message.received is lost. The last cursor is kept in Redis, so a reconnect
 * or another worker taking over goes on where it was (a changed UIDVALIDITY starts again from the top).
 * A dropped or failed connection is reopened after a backoff with jitter (CONNECTED_WATCH_BACKOFF_MIN_MS to _MAX_MS).
 * `stop()` ends it with LOGOUT. The password is opened only to log in; nothing of it reaches a log line.
 */
export class InboxWatcher {
  private stopping = false;
  private client: ImapFlow | undefined;
  private wakeSleep: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private catchUp: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** the watcher's state, for the gauge: connected (IDLE or polling) or not (connecting, backing off) */
  connected = false;

  constructor(
    private readonly deps: WatcherDeps,
    readonly mailboxId: string,
    /** what the pool compares to notice a changed account (host, port, tls, username, password) */
    readonly fingerprint: string,
    private readonly onState: () => void = () => undefined,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** End the watcher: LOGOUT on its connection (bounded by IMAP_TIMEOUT_MS), and no reconnect. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    const client = this.client;
    if (client) await this.logout(client);
    await this.loop;
  }

  private log(level: 'info' | 'warn' | 'debug', o: object): void {
    this.deps.log[level]({ component: 'connected-watch', mailboxId: this.mailboxId, ...o });
  }

  private setConnected(v: boolean): void {
    if (this.connected === v) return;
    this.connected = v;
    this.onState();
  }

  private async run(): Promise<void> {
    const { backoffMinMs, backoffMaxMs } = this.deps.config.connected.watch;
    let attempt = 0;
    while (!this.stopping) {
      let password = '';
      try {
        await this.session(
          (p) => (password = p),
          () => (attempt = 0),
        );
      } catch (err) {
        if (this.stopping) break;
        const e = err as ImapFlowError;
        this.log('warn', {
          event: 'connected.watch_failed',
          code: e.authenticationFailed ? 'imap_auth_failed' : (e.code ?? 'error'),
          reason: serverText(e.responseText ?? e.message ?? String(err), password),
        });
      } finally {
        this.client = undefined;
        this.setConnected(false);
      }
      if (this.stopping) break;
      const delay = backoffMs(attempt++, backoffMinMs, backoffMaxMs);
      this.deps.metrics.connectedWatchEvents.inc({ event: 'reconnect' });
      this.log('info', { event: 'connected.watch_reconnect', attempt, delayMs: delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeSleep = undefined;
    }
  }

  /** One connection, from LOGIN until it drops, fails or is stopped (then it ends by rejecting or resolving). */
  private async session(gotPassword: (p: string) => void, connected: () => void): Promise<void> {
    const { deps } = this;
    const c = deps.config.connected;
    const ring = deps.credentials;
    const m = await deps.findMailbox(this.mailboxId);
    const sealed = m && (await sealedPassword(deps.db, m.id, 'imap'));
    if (!ring || !m || mailboxEnded(m) || !m.imap || !sealed) {
      this.stopping = true; // deleted or forgotten meanwhile: the pool's next scan forgets this watcher
      return;
    }
    const password = open(ring, sealed, passwordAad('imap', m.id));
    gotPassword(password);
    const login = { ...m.imap, password };
    const checked = await checkedHost(connectedGuard(c.allowHosts, 'imap'), login, 'imap');
    if (this.stopping) return;
    const client = new ImapFlow({
      ...imapOptions(login, checked, c.imapTimeoutMs),
      // a watcher's connection is quiet between arrivals: probed with NOOP after this, not failed
      socketTimeout: c.watch.quietMs,
      maxIdleTime: c.watch.reIdleMs,
      disableAutoIdle: true,
    });
    this.client = client;
    client.on('error', () => undefined); // the session ends on 'close'; the reason is logged by run()
    const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
    const ms = c.imapTimeoutMs;
    try {
      await within(client.connect(), ms);
      if (this.stopping) return;
      const box = await within(client.mailboxOpen(WATCHED_FOLDER, { readOnly: true }), ms);
      connected();
      this.setConnected(true);
      let last = await this.startingUid(box.uidValidity, Math.max(0, Number(box.uidNext ?? 1) - 1));
      const fetchNew = async () => {
        for (;;) {
          if (this.stopping || !client.usable) return;
          const items = await within(itemsAbove(client, WATCHED_FOLDER, box.uidValidity, last, FETCH_BATCH), ms);
          const deliveries = await recordReceived(deps.db, { id: this.mailboxId, address: m.address }, items);
          for (const item of items) {
            await publishSafely(
              deps.publisher,
              { type: 'new_message', mailboxId: this.mailboxId, cursor: item.cursor, message: item.message },
              deps.log,
            );
            deps.metrics.connectedWatchEvents.inc({ event: 'new_message' });
            last = item.uid;
          }
          if (items.length) await this.remember(box.uidValidity, last);
          await enqueueWebhookDeliveriesSafely(
            deps.queues?.webhooks,
            deliveries,
            deps.log,
            deps.config.redis.enqueueTimeoutMs,
          );
          if (items.length < FETCH_BATCH) return;
        }
      };
      // one catch-up at a time; a failed one ends the connection (the next one starts over from `last`)
      const kick = () => {
        this.catchUp = this.catchUp.then(fetchNew).catch((err: unknown) => {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
          client.close();
        });
      };
      client.on('exists', kick);
      kick(); // what arrived while no watcher ran
      while (!this.stopping && client.usable) {
        if (client.capabilities.has('IDLE')) {
          // resolves when IDLE ends: a catch-up's command broke it, CONNECTED_WATCH_REIDLE_MS passed, or the connection closed
          await Promise.race([client.idle(), closed]);
        } else {
          await Promise.race([new Promise((r) => setTimeout(r, c.watch.pollMs)), closed]);
          if (client.usable && !this.stopping) await within(client.noop(), ms); // EXISTS arrives with its answer
        }
        await this.catchUp;
      }
      await this.catchUp;
      if (this.failure) throw this.failure;
      if (!this.stopping) throw Object.assign(new Error('the IMAP server closed the connection'), { code: 'closed' });
    } finally {
      this.failure = undefined;
      if (client.usable && !this.stopping) client.close();
    }
  }

  /**
   * The UID the watcher publishes after: the last one published for this UIDVALIDITY (kept in Redis), or, the first
   * time and after a UIDVALIDITY change, the last one the folder has given out now (nothing old is published).
   */
  private async startingUid(uidValidity: bigint, lastNow: number): Promise<number> {
    const key = this.cursorKey();
    const stored = await this.deps.redis.get(key).catch(() => null);
    let kept: ReturnType<typeof inboxCursorParam>;
    try {
      kept = stored === null ? undefined : inboxCursorParam(stored, 'cursor');
    } catch {
      kept = undefined;
    }
    if (kept && kept.uidValidity === uidValidity && kept.uid <= lastNow) return kept.uid;
    await this.remember(uidValidity, lastNow);
    return lastNow;
  }

  private cursorKey(): string {
    return `${this.deps.config.redis.prefix}:connected:cursor:${this.mailboxId}`;
  }

  private async remember(uidValidity: bigint, uid: number): Promise<void> {
    await this.deps.redis
      .set(this.cursorKey(), inboxCursor({ uidValidity, uid }), 'EX', CURSOR_TTL_S)
      .catch((err: unknown) => this.log('warn', { event: 'connected.watch_cursor_unsaved', err }));
  }

  /** LOGOUT, bounded by IMAP_TIMEOUT_MS; past it (a command stuck ahead of it), LOGOUT written on the socket. */
  private async logout(client: ImapFlow): Promise<void> {
    if (!client.usable) return client.close();
    const ms = this.deps.config.connected.imapTimeoutMs;
    try {
      await within(client.logout(), ms);
    } catch {
      try {
        const { writeSocket, socket } = client.unbind();
        writeSocket.write('MWLOGOUT LOGOUT\r\n');
        setTimeout(() => socket.destroy(), 200).unref();
      } catch {
        /* the socket is gone already */
      }
      client.close();
    }
  }
}
