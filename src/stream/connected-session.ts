import type { ConnectedInbox, InboxCursor } from '../connected/inbox-feed.js';
import { inboxCursor, inboxCursorParam } from '../connected/inbox-feed.js';
import type { MailEvent } from '../pubsub/events.js';
import { mailboxEnded, type Mailbox } from '../store/mailboxes.js';
import type { StreamPrincipal } from './credential.js';
import { StreamSessionBase } from './session-base.js';
import type { StreamDeps, StreamSink } from './stream-deps.js';

/**
 * One stream of a connected mailbox's INBOX: the same frames as a hosted mailbox's (the common part is
 * {@link StreamSessionBase}), with cursors `<uidvalidity>.<uid>`. Subscribed first (events buffered), it reads the INBOX from IMAP (one
 * session through the bridge: `deps.connected`): `ready` carries its last UID, or the client's cursor when it
 * resumes, and every message above that cursor is replayed from IMAP in UID order; then the buffer drains. The
 * worker's watcher publishes one mailbox's UIDs in increasing order, so a live event above the last one sent is
 * sent, anything else is a duplicate (UIDs have gaps: a lost publish is recovered when the client resumes). A
 * changed UIDVALIDITY (the folder was recreated) moves the stream to the new one.
 */
export class ConnectedStreamSession extends StreamSessionBase {
  private uidValidity = 0n;
  private lastSent = 0;
  private since: InboxCursor | undefined;

  constructor(
    deps: StreamDeps,
    private readonly mailbox: Mailbox,
    principal: StreamPrincipal,
    sink: StreamSink,
    release: (() => void) | undefined,
  ) {
    super(deps, mailbox, principal, sink, release);
  }

  start(since: InboxCursor | undefined): void {
    this.since = since;
    this.begin();
  }

  private inbox(): ConnectedInbox {
    if (!this.deps.connected) throw new Error('streams of connected mailboxes need the IMAP bridge (deps.connected)');
    return this.deps.connected;
  }

  protected async replay(): Promise<boolean> {
    const current = await this.deps.stores.mailboxes.findById(this.mailboxId);
    if (this.closed) return false;
    const ended = mailboxEnded(current);
    if (ended) {
      this.send({ type: 'mailbox_expired', reason: ended });
      this.end('mailbox_expired');
      return false;
    }
    const since = this.since;
    const page = this.deps.config.streams.replayPage;
    let read = await this.inbox().after(this.mailbox, since, page);
    if (this.closed) return false;
    this.uidValidity = read.uidValidity;
    this.lastSent = since && since.uidValidity === read.uidValidity ? Math.min(since.uid, read.lastUid) : read.lastUid;
    this.send({ type: 'ready', cursor: inboxCursor({ uidValidity: this.uidValidity, uid: this.lastSent }) });
    this.readySent = true;
    for (;;) {
      for (const item of read.items) {
        if (this.closed) return false;
        if (item.uid <= this.lastSent) continue;
        this.send({ type: 'new_message', cursor: item.cursor, message: item.message });
        this.lastSent = item.uid;
      }
      if (read.items.length < page || this.closed) break;
      read = await this.inbox().after(this.mailbox, { uidValidity: this.uidValidity, uid: this.lastSent }, page);
      if (read.uidValidity !== this.uidValidity) break;
    }
    return true;
  }

  protected handle(e: MailEvent): void {
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
}
