import type { MailEvent, StreamEvent } from '../pubsub/events.js';
import type { Mailbox } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import type { EndReason, StreamFrame } from './frames.js';
import { untilListening } from './hub.js';
import type { OpenStream, Transport } from './registry.js';
import type { StreamDeps, StreamSink } from './stream-deps.js';

/**
 * What every open stream does, whatever the mailbox's kind: subscribe to the hub FIRST (events are buffered while
 * the replay runs), register for keepalive pings and shutdown, end on the revocation of its own credential or when
 * the client is too slow (`maxPendingEvents`, `maxBufferedBytes`: the client resumes from its cursor), and drain
 * the buffered events in order once the replay is done. A subclass says where the replay comes from (Postgres for
 * a hosted mailbox, IMAP for a connected one) in `replay`, and what a live event does in `handle`.
 *
 * A class, not closures made per stream: an idle stream lives for hours, and the role runs under tsx, whose
 * esbuild transform names every named closure with Object.defineProperty (a function in dictionary mode, about
 * 300 bytes more each). Its methods exist once; what a stream holds is this object, its sink and a few callbacks.
 */
export abstract class StreamSessionBase implements OpenStream {
  readonly transport: Transport;
  protected readonly mailboxId: string;
  protected closed = false;
  /** `ready` is always the first frame: keepalive pings start once it is out (the replay may be slow) */
  protected readySent = false;
  private readonly queue: MailEvent[] = [];
  private live = false;
  private pumping = false;
  private readonly unsubscribe: () => void;
  private readonly unregister: () => void;
  /** the revocation this stream ends on: the mailbox token's jti or the API key's id */
  private readonly revokedBy: { kind: 'token' | 'user'; id: string };

  constructor(
    protected readonly deps: StreamDeps,
    mailbox: Mailbox,
    principal: StreamPrincipal,
    private readonly sink: StreamSink,
    private readonly release: (() => void) | undefined,
  ) {
    this.transport = sink.transport;
    this.mailboxId = mailbox.id;
    this.revokedBy =
      principal.kind === 'token' ? { kind: 'token', id: principal.jti } : { kind: 'user', id: principal.apiKeyId };
    this.unsubscribe = deps.hub.subscribe(mailbox.id, (e) => this.onEvent(e), credentialOf(principal));
    this.unregister = deps.registry.add(this);
  }

  /**
   * Subscribed already: wait until Redis confirmed the subscription, then `replay` (which sends `ready` first),
   * then go live and drain what was buffered meanwhile. A failed replay ends the stream with `error`.
   */
  protected begin(): void {
    this.subscribedThenReplay().catch((err: unknown) => {
      this.log('warn', { event: 'stream.replay_failed', code: (err as { code?: string }).code, err });
      this.end('error');
    });
  }

  /** Send `ready` and everything after the client's cursor; false when the stream ended on the way. */
  protected abstract replay(): Promise<boolean>;

  /** One live event, in order (the replay is done). */
  protected abstract handle(e: MailEvent): Promise<void> | void;

  /** Called once when the stream ends, before the sink is closed (timers of a subclass). */
  protected onEnd(): void {}

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
    this.onEnd();
    this.queue.length = 0;
    this.log('debug', { event: 'stream.closed', reason });
    this.sink.end(reason);
  }

  /** no child logger per stream (it costs memory for 10,000 idle subscribers): fields go on each line */
  protected log(level: 'debug' | 'warn', o: object): void {
    this.deps.log[level]({ component: 'stream', transport: this.transport, mailboxId: this.mailboxId, ...o });
  }

  protected send(frame: StreamFrame): void {
    if (this.closed) return;
    this.sink.send(frame);
    if (this.sink.buffered() > this.deps.config.streams.maxBufferedBytes) this.end('overloaded');
  }

  /** Queue an event of this stream's own making (an expiry it noticed), handled after those already queued. */
  protected enqueue(e: MailEvent): void {
    this.queue.push(e);
    void this.pump();
  }

  private async subscribedThenReplay(): Promise<void> {
    // the replay reads AFTER subscribing (and Redis confirming it): anything committed later is replayed or buffered
    const waitMs = this.deps.config.streams.subscribeWaitMs;
    if (!(await untilListening(this.deps.hub, this.mailboxId, waitMs)))
      this.log('warn', { event: 'stream.subscribe_unconfirmed', waitedMs: waitMs });
    if (this.closed || !(await this.replay()) || this.closed) return;
    this.live = true;
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
    this.enqueue(e);
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
}
