import type { MailEvent, StreamEvent } from '../pubsub/events.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import { summaryEvent, type EndReason, type StreamFrame } from './frames.js';
import { untilListening } from './hub.js';
import type { OpenStream, Transport } from './registry.js';
import type { InboxCursor } from '../connected/inbox-feed.js';
import type { StreamDeps, StreamSink } from './stream-deps.js';
import { ConnectedStreamSession } from './connected-session.js';

export type { StreamDeps, StreamSink } from './stream-deps.js';

/** The longest delay setTimeout accepts; later expiries are left to the mailbox_expired event. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One stream: subscribe to the hub FIRST (buffering), replay every committed message after the cursor
 * from Postgres in order, then drain the buffer. A live event is sent straight away only when it is the
 * next cursor; a jump (a publish was lost or two publishes crossed) triggers a Postgres catch-up, so
 * the client sees every message exactly once, in cursor order. Returns the closer the transport calls
 * when the client goes away.
 */
export function openStream(
  deps: StreamDeps,
  opts: {
    mailbox: Mailbox;
    principal: StreamPrincipal;
    /** hosted: a seq; connected: `<uidvalidity>.<uid>` of the INBOX */
    since: number | InboxCursor | undefined;
    /** `?tag=`: only new_message frames of messages with this tag are sent (the cursor still moves past the others) */
    tag?: string;
    credentialExpiresAt?: Date;
    /** frees the credential's stream slot (streamAccess took it); called once when the stream ends */
    release?: () => void;
    sink: StreamSink;
  },
): () => void {
  if (opts.mailbox.kind === 'connected') {
    const connected = new ConnectedStreamSession(deps, opts.mailbox, opts.principal, opts.sink, opts.release);
    connected.start(typeof opts.since === 'object' ? opts.since : undefined);
    return () => connected.end('client_gone');
  }
  const session = new StreamSession(deps, opts.mailbox, opts.principal, opts.sink, opts.release, opts.tag);
  session.start(
    typeof opts.since === 'number' ? opts.since : undefined,
    opts.credentialExpiresAt,
    opts.mailbox.expiresAt,
  );
  return () => session.end('client_gone');
}

/**
 * The state of one open stream. A class, not closures made per stream: an idle stream lives for hours,
 * and the role runs under tsx, whose esbuild transform names every named closure with
 * Object.defineProperty (a function in dictionary mode, about 300 bytes more each). Its methods exist
 * once; what a stream holds is this object, its sink and the few anonymous callbacks below.
 */
class StreamSession implements OpenStream {
  readonly transport: Transport;
  private readonly mailboxId: string;
  private readonly queue: MailEvent[] = [];
  private lastSent = 0;
  private live = false;
  private pumping = false;
  private closed = false;
  /** `ready` is always the first frame: keepalive pings start once it is out (the cursor read may be slow) */
  private readySent = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private credentialTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private readonly unregister: () => void;
  /** the revocation this stream ends on: the mailbox token's jti or the API key's id */
  private readonly revokedBy: { kind: 'token' | 'user'; id: string };

  constructor(
    private readonly deps: StreamDeps,
    mailbox: Mailbox,
    principal: StreamPrincipal,
    private readonly sink: StreamSink,
    private readonly release: (() => void) | undefined,
    private readonly tag: string | undefined,
  ) {
    this.transport = sink.transport;
    this.mailboxId = mailbox.id;
    this.revokedBy =
      principal.kind === 'token' ? { kind: 'token', id: principal.jti } : { kind: 'user', id: principal.apiKeyId };
    this.unsubscribe = deps.hub.subscribe(mailbox.id, (e) => this.onEvent(e), credentialOf(principal));
    this.unregister = deps.registry.add(this);
  }

  start(since: number | undefined, credentialExpiresAt: Date | undefined, mailboxExpiresAt: Date | null): void {
    // a token that lives as long as the mailbox (the creator token) ends with mailbox_expired instead
    if (credentialExpiresAt && (!mailboxExpiresAt || credentialExpiresAt < mailboxExpiresAt)) {
      const ms = credentialExpiresAt.getTime() - Date.now();
      if (ms <= MAX_TIMER_MS) {
        this.credentialTimer = setTimeout(() => this.end('token_expired'), Math.max(0, ms));
        this.credentialTimer.unref();
      }
    }
    this.begin(since).catch((err: unknown) => {
      this.log('warn', { event: 'stream.replay_failed', err });
      this.end('error');
    });
  }

  ping(): void {
    if (!this.closed && this.readySent) this.sink.ping();
  }

  shutdown(): void {
    this.end('shutdown');
  }

  end(reason: EndReason): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.unregister();
    this.release?.();
    clearTimeout(this.expiryTimer);
    clearTimeout(this.credentialTimer);
    this.queue.length = 0;
    this.log('debug', { event: 'stream.closed', reason });
    this.sink.end(reason);
  }

  /** no child logger per stream (it costs memory for 10,000 idle subscribers): fields go on each line */
  private log(level: 'debug' | 'warn', o: object): void {
    this.deps.log[level]({ component: 'stream', transport: this.transport, mailboxId: this.mailboxId, ...o });
  }

  private async begin(since: number | undefined): Promise<void> {
    // read the cursor AFTER subscribing (and Redis confirming it): anything committed later is either replayed or buffered
    if (!(await untilListening(this.deps.hub, this.mailboxId, this.deps.config.streams.subscribeWaitMs))) {
      this.log('warn', { event: 'stream.subscribe_unconfirmed', waitedMs: this.deps.config.streams.subscribeWaitMs });
    }
    if (this.closed) return;
    const current = await this.deps.stores.mailboxes.findById(this.mailboxId);
    if (this.closed) return;
    if (!current) {
      this.send({ type: 'mailbox_expired', reason: 'deleted' });
      this.end('mailbox_expired');
      return;
    }
    this.lastSent = Math.min(since ?? current.lastSeq, current.lastSeq);
    this.send({ type: 'ready', cursor: String(this.lastSent) });
    this.readySent = true;
    // a client at the mailbox cursor has nothing to replay: a message committed since that read was
    // published after this stream subscribed, so it is buffered (a lost publish is caught up at the
    // next jump in cursors, as on any live stream)
    if (this.lastSent < current.lastSeq) await this.replayAfterLastSent();
    this.live = true;
    this.scheduleExpiry(current);
    await this.pump();
  }

  private onEvent(e: StreamEvent): void {
    if (this.closed) return;
    if (e.type === 'token_revoked') {
      if (this.revokedBy.kind === 'token' && this.revokedBy.id === e.jti) this.end('token_revoked');
      return;
    }
    if (e.type === 'api_key_revoked') {
      if (this.revokedBy.kind === 'user' && this.revokedBy.id === e.keyId) this.end('api_key_revoked');
      return;
    }
    if (this.queue.length >= this.deps.config.streams.maxPendingEvents) {
      this.end('overloaded'); // the client resumes from its cursor
      return;
    }
    this.queue.push(e);
    void this.pump();
  }

  private send(frame: StreamFrame): void {
    if (this.closed) return;
    this.sink.send(frame);
    if (this.sink.buffered() > this.deps.config.streams.maxBufferedBytes) this.end('overloaded');
  }

  /** With `?tag=`, only messages of that tag are sent; without it, every message. */
  private wants(tag: string | null): boolean {
    return this.tag === undefined || this.tag === tag;
  }

  private async replayAfterLastSent(): Promise<void> {
    const { replayPage } = this.deps.config.streams;
    for (;;) {
      const page = await this.deps.stores.messages.list(this.mailboxId, {
        afterSeq: this.lastSent,
        ascending: true,
        limit: replayPage,
      });
      for (const m of page) {
        if (this.closed) return;
        if (this.wants(m.tag)) this.send({ type: 'new_message', cursor: String(m.seq), message: summaryEvent(m) });
        this.lastSent = m.seq;
      }
      if (page.length < replayPage || this.closed) return;
    }
  }

  private async handle(e: MailEvent): Promise<void> {
    if (e.type === 'mailbox_expired') {
      this.send({ type: 'mailbox_expired', reason: e.reason });
      this.end('mailbox_expired');
    } else if (e.type === 'new_message') {
      const seq = Number(e.cursor);
      if (seq <= this.lastSent) return; // duplicate publish or already replayed
      if (seq === this.lastSent + 1 && this.tag !== undefined && e.message.tag === undefined) {
        await this.replayAfterLastSent(); // an event of a worker older than tags: Postgres knows the tag
      } else if (seq === this.lastSent + 1) {
        if (this.wants(e.message.tag ?? null)) this.send({ type: 'new_message', cursor: e.cursor, message: e.message });
        this.lastSent = seq;
      } else {
        await this.replayAfterLastSent(); // everything up to seq is committed: cursors commit in order
      }
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping || !this.live) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.closed) await this.handle(this.queue.shift()!);
    } catch (err) {
      this.log('warn', { event: 'stream.failed', err });
      this.end('error');
    } finally {
      this.pumping = false;
    }
  }

  private async checkExpiry(): Promise<void> {
    const m = await this.deps.stores.mailboxes.findById(this.mailboxId);
    const ended = mailboxEnded(m);
    if (ended) {
      this.queue.push({ type: 'mailbox_expired', mailboxId: this.mailboxId, reason: ended });
      void this.pump();
    } else {
      this.scheduleExpiry(m!);
    }
  }

  private scheduleExpiry(m: Mailbox): void {
    if (!m.expiresAt || this.closed) return;
    const ms = Math.max(0, m.expiresAt.getTime() - Date.now()) + 50;
    if (ms > MAX_TIMER_MS) return;
    this.expiryTimer = setTimeout(
      () =>
        void this.checkExpiry().catch((err: unknown) => this.log('warn', { event: 'stream.expiry_check_failed', err })),
      ms,
    );
    this.expiryTimer.unref();
  }
}
