import type { MailEvent } from '../pubsub/events.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import type { StreamPrincipal } from './credential.js';
import { summaryEvent } from './frames.js';
import type { InboxCursor } from '../connected/inbox-feed.js';
import type { StreamDeps, StreamSink } from './stream-deps.js';
import { ConnectedStreamSession } from './connected-session.js';
import { StreamSessionBase } from './session-base.js';

export type { StreamDeps, StreamSink } from './stream-deps.js';

/** The longest delay setTimeout accepts; later expiries are left to the mailbox_expired event. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One stream (the common part is {@link StreamSessionBase}): subscribe to the hub FIRST (buffering), replay every
 * committed message after the cursor from Postgres (IMAP for a connected mailbox) in order, then drain the buffer. A live event is sent straight away only when it is the
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

/** A hosted mailbox's stream: cursors are message seqs, the replay reads Postgres, an expiry ends it. */
class StreamSession extends StreamSessionBase {
  private lastSent = 0;
  private since: number | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private credentialTimer: NodeJS.Timeout | undefined;

  constructor(
    deps: StreamDeps,
    mailbox: Mailbox,
    principal: StreamPrincipal,
    sink: StreamSink,
    release: (() => void) | undefined,
    private readonly tag: string | undefined,
  ) {
    super(deps, mailbox, principal, sink, release);
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
    this.since = since;
    this.begin();
  }

  protected override onEnd(): void {
    clearTimeout(this.expiryTimer);
    clearTimeout(this.credentialTimer);
  }

  protected async replay(): Promise<boolean> {
    const current = await this.deps.stores.mailboxes.findById(this.mailboxId);
    if (this.closed) return false;
    if (!current) {
      this.send({ type: 'mailbox_expired', reason: 'deleted' });
      this.end('mailbox_expired');
      return false;
    }
    this.lastSent = Math.min(this.since ?? current.lastSeq, current.lastSeq);
    this.send({ type: 'ready', cursor: String(this.lastSent) });
    this.readySent = true;
    // a client at the mailbox cursor has nothing to replay: a message committed since that read was
    // published after this stream subscribed, so it is buffered (a lost publish is caught up at the
    // next jump in cursors, as on any live stream)
    if (this.lastSent < current.lastSeq) await this.replayAfterLastSent();
    this.scheduleExpiry(current);
    return true;
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

  protected async handle(e: MailEvent): Promise<void> {
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

  private async checkExpiry(): Promise<void> {
    const m = await this.deps.stores.mailboxes.findById(this.mailboxId);
    const ended = mailboxEnded(m);
    if (ended) this.enqueue({ type: 'mailbox_expired', mailboxId: this.mailboxId, reason: ended });
    else this.scheduleExpiry(m!);
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
