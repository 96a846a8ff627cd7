import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { MailEvent } from '../pubsub/events.js';
import type { Stores } from '../store/index.js';
import type { Mailbox } from '../store/mailboxes.js';
import { credentialOf, type StreamPrincipal } from './credential.js';
import { summaryEvent, type EndReason, type StreamFrame } from './frames.js';
import type { Hub } from './hub.js';
import type { StreamRegistry, Transport } from './registry.js';

/** The transport side of a stream (SSE response or WebSocket). */
export interface StreamSink {
  transport: Transport;
  send(frame: StreamFrame): void;
  ping(): void;
  /** bytes queued towards the client and not yet written (slow-client detection) */
  buffered(): number;
  /** close the transport; must be idempotent and safe after the client went away */
  end(reason: EndReason): void;
}

export interface StreamDeps {
  config: Pick<Config, 'streams'>;
  log: Logger;
  stores: Pick<Stores, 'messages' | 'mailboxes'>;
  hub: Hub;
  registry: StreamRegistry;
}

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
    since: number | undefined;
    credentialExpiresAt?: Date;
    /** frees the credential's stream slot (streamAccess took it); called once when the stream ends */
    release?: () => void;
    sink: StreamSink;
  },
): () => void {
  const { mailbox, principal, sink } = opts;
  const { streams } = deps.config;
  // no child logger per stream (it costs memory for 10,000 idle subscribers): fields go on each line
  const where = { component: 'stream', transport: sink.transport, mailboxId: mailbox.id };
  const log = {
    debug: (o: object) => deps.log.debug({ ...where, ...o }),
    warn: (o: object) => deps.log.warn({ ...where, ...o }),
  };
  const queue: MailEvent[] = [];
  let lastSent = 0;
  let live = false;
  let pumping = false;
  let closed = false;
  let expiryTimer: NodeJS.Timeout | undefined;
  let credentialTimer: NodeJS.Timeout | undefined;

  const end = (reason: EndReason) => {
    if (closed) return;
    closed = true;
    unsubscribe();
    unregister();
    opts.release?.();
    clearTimeout(expiryTimer);
    clearTimeout(credentialTimer);
    queue.length = 0;
    log.debug({ event: 'stream.closed', reason });
    sink.end(reason);
  };

  const send = (frame: StreamFrame) => {
    if (closed) return;
    sink.send(frame);
    if (sink.buffered() > streams.maxBufferedBytes) end('overloaded');
  };

  const replayAfterLastSent = async () => {
    for (;;) {
      const page = await deps.stores.messages.list(mailbox.id, { afterSeq: lastSent, ascending: true, limit: streams.replayPage });
      for (const m of page) {
        if (closed) return;
        send({ type: 'new_message', cursor: String(m.seq), message: summaryEvent(m) });
        lastSent = m.seq;
      }
      if (page.length < streams.replayPage || closed) return;
    }
  };

  const handle = async (e: MailEvent) => {
    if (e.type === 'mailbox_expired') {
      send({ type: 'mailbox_expired', reason: e.reason });
      end('mailbox_expired');
    } else if (e.type === 'new_message') {
      const seq = Number(e.cursor);
      if (seq <= lastSent) return; // duplicate publish or already replayed
      if (seq === lastSent + 1) {
        send({ type: 'new_message', cursor: e.cursor, message: e.message });
        lastSent = seq;
      } else {
        await replayAfterLastSent(); // everything up to seq is committed: cursors commit in order
      }
    }
  };

  const pump = async () => {
    if (pumping || !live) return;
    pumping = true;
    try {
      while (queue.length && !closed) await handle(queue.shift()!);
    } catch (err) {
      log.warn({ event: 'stream.failed', err });
      end('error');
    } finally {
      pumping = false;
    }
  };

  const unsubscribe = deps.hub.subscribe(mailbox.id, (e) => {
    if (closed) return;
    if (e.type === 'token_revoked') {
      if (principal.kind === 'token' && principal.jti === e.jti) end('token_revoked');
      return;
    }
    if (e.type === 'api_key_revoked') {
      if (principal.kind === 'user' && principal.apiKeyId === e.keyId) end('api_key_revoked');
      return;
    }
    if (queue.length >= streams.maxPendingEvents) {
      end('overloaded'); // the client resumes from its cursor
      return;
    }
    queue.push(e);
    void pump();
  }, credentialOf(principal));
  // `ready` is always the first frame: keepalive pings start once it is out (the cursor read may be slow)
  let readySent = false;
  const unregister = deps.registry.add({ transport: sink.transport, ping: () => { if (!closed && readySent) sink.ping(); }, shutdown: () => end('shutdown') });

  const checkExpiry = async () => {
    const m = await deps.stores.mailboxes.findById(mailbox.id);
    if (!m || !m.isActive || (m.expiresAt && m.expiresAt.getTime() <= Date.now())) {
      queue.push({ type: 'mailbox_expired', mailboxId: mailbox.id, reason: m && m.deactivatedReason === 'deleted' ? 'deleted' : 'expired' });
      void pump();
    } else {
      scheduleExpiry(m);
    }
  };
  const scheduleExpiry = (m: Mailbox) => {
    if (!m.expiresAt || closed) return;
    const ms = Math.max(0, m.expiresAt.getTime() - Date.now()) + 50;
    if (ms > MAX_TIMER_MS) return;
    expiryTimer = setTimeout(() => void checkExpiry().catch((err: unknown) => log.warn({ event: 'stream.expiry_check_failed', err })), ms);
    expiryTimer.unref();
  };

  // a token that lives as long as the mailbox (the creator token) ends with mailbox_expired instead
  if (opts.credentialExpiresAt && (!mailbox.expiresAt || opts.credentialExpiresAt < mailbox.expiresAt)) {
    const ms = opts.credentialExpiresAt.getTime() - Date.now();
    if (ms <= MAX_TIMER_MS) {
      credentialTimer = setTimeout(() => end('token_expired'), Math.max(0, ms));
      credentialTimer.unref();
    }
  }

  void (async () => {
    // read the cursor AFTER subscribing: anything committed later is either replayed or buffered
    const current = await deps.stores.mailboxes.findById(mailbox.id);
    if (closed) return;
    if (!current) {
      send({ type: 'mailbox_expired', reason: 'deleted' });
      end('mailbox_expired');
      return;
    }
    lastSent = Math.min(opts.since ?? current.lastSeq, current.lastSeq);
    send({ type: 'ready', cursor: String(lastSent) });
    readySent = true;
    await replayAfterLastSent();
    live = true;
    scheduleExpiry(current);
    await pump();
  })().catch((err: unknown) => {
    log.warn({ event: 'stream.replay_failed', err });
    end('error');
  });

  return () => end('client_gone');
}
