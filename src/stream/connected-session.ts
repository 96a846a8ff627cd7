import type { ConnectedInbox, InboxCursor } from '../connected/inbox-feed.js';
import { inboxCursor, inboxCursorParam } from '../connected/inbox-feed.js';
import type { MailEvent, StreamEvent } from '../pubsub/events.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import type { EndReason, StreamFrame } from './frames.js';
import { untilListening } from './hub.js';
import type { OpenStream, Transport } from './registry.js';
import type { StreamDeps, StreamSink } from './stream-deps.js';

/**
 * One stream of a connected mailbox's INBOX: the same frames as a hosted mailbox's, with cursors
 * `<uidvalidity>.<uid>`. It subscribes to the hub FIRST (events buffered), then reads the INBOX from IMAP (one
 * session through the bridge: `deps.connected`): `ready` carries its last UID, or the client's cursor when it
 * resumes, and every message above that cursor is replayed from IMAP in UID order; then the buffer drains. The
 * worker's watcher publishes one mailbox's UIDs in increasing order, so a live event above the last one sent is
 * sent, anything else is a duplicate (UIDs have gaps: a lost publish is recovered when the client resumes). A
 * changed UIDVALIDITY (the folder was recreated) moves the stream to the new one.
 */
export class ConnectedStreamSession implements OpenStream {
  readonly transport: Transport;
  private readonly queue: MailEvent[] = [];
  private uidValidity = 0n;
  private lastSent = 0;
  private live = false;
  private pumping = false;
  private closed = false;
  private readySent = false;
  private readonly unsubscribe: () => void;
  private readonly unregister: () => void;
  private readonly revokedBy: { kind: 'token' | 'user'; id: string };

  constructor(
    private readonly deps: StreamDeps,
    private readonly mailbox: Mailbox,
    principal: StreamPrincipal,
    private readonly sink: StreamSink,
    private readonly release: (() => void) | undefined,
  ) {
    this.transport = sink.transport;
    this.revokedBy =
      principal.kind === 'token' ? { kind: 'token', id: principal.jti } : { kind: 'user', id: principal.apiKeyId };
    this.unsubscribe = deps.hub.subscribe(mailbox.id, (e) => this.onEvent(e), credentialOf(principal));
    this.unregister = deps.registry.add(this);
  }

  start(since: InboxCursor | undefined): void {
    this.begin(since).catch((err: unknown) => {
      this.log('warn', { event: 'stream.replay_failed', code: (err as { code?: string }).code, err });
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
    this.queue.length = 0;
    this.log('debug', { event: 'stream.closed', reason });
    this.sink.end(reason);
  }

  private log(level: 'debug' | 'warn', o: object): void {
    this.deps.log[level]({ component: 'stream', transport: this.transport, mailboxId: this.mailbox.id, ...o });
  }

  private inbox(): ConnectedInbox {
    if (!this.deps.connected) throw new Error('streams of connected mailboxes need the IMAP bridge (deps.connected)');
    return this.deps.connected;
  }

  private async begin(since: InboxCursor | undefined): Promise<void> {
    const waitMs = this.deps.config.streams.subscribeWaitMs;
    if (!(await untilListening(this.deps.hub, this.mailbox.id, waitMs)))
      this.log('warn', { event: 'stream.subscribe_unconfirmed', waitedMs: waitMs });
    if (this.closed) return;
    const current = await this.deps.stores.mailboxes.findById(this.mailbox.id);
    if (this.closed) return;
    const ended = mailboxEnded(current);
    if (ended) {
      this.send({ type: 'mailbox_expired', reason: ended });
      this.end('mailbox_expired');
      return;
    }
    const page = this.deps.config.streams.replayPage;
    let read = await this.inbox().after(this.mailbox, since, page);
    if (this.closed) return;
    this.uidValidity = read.uidValidity;
    this.lastSent = since && since.uidValidity === read.uidValidity ? Math.min(since.uid, read.lastUid) : read.lastUid;
    this.send({ type: 'ready', cursor: inboxCursor({ uidValidity: this.uidValidity, uid: this.lastSent }) });
    this.readySent = true;
    for (;;) {
      for (const item of read.items) {
        if (this.closed) return;
        if (item.uid <= this.lastSent) continue;
        this.send({ type: 'new_message', cursor: item.cursor, message: item.message });
        this.lastSent = item.uid;
      }
      if (read.items.length < page || this.closed) break;
      read = await this.inbox().after(this.mailbox, { uidValidity: this.uidValidity, uid: this.lastSent }, page);
      if (read.uidValidity !== this.uidValidity) break;
    }
    this.live = true;
    this.pump();
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
    this.pump();
  }

  private send(frame: StreamFrame): void {
    if (this.closed) return;
    this.sink.send(frame);
    if (this.sink.buffered() > this.deps.config.streams.maxBufferedBytes) this.end('overloaded');
  }

  private handle(e: MailEvent): void {
    if (e.type === 'mailbox_expired') {
      this.send({ type: 'mailbox_expired', reason: e.reason });
      this.end('mailbox_expired');
      return;
    }
    if (e.type !== 'new_message') return;
    let cursor: InboxCursor | undefined;
    try {
      cursor = inboxCursorParam(e.cursor, 'cursor');
    } catch {
      return; // not a connected mailbox's cursor
    }
    if (!cursor) return;
    if (cursor.uidValidity === this.uidValidity && cursor.uid <= this.lastSent) return; // duplicate or replayed
    this.uidValidity = cursor.uidValidity;
    this.lastSent = cursor.uid;
    this.send({ type: 'new_message', cursor: e.cursor, message: e.message });
  }

  private pump(): void {
    if (this.pumping || !this.live) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.closed) this.handle(this.queue.shift()!);
    } finally {
      this.pumping = false;
    }
  }
}
