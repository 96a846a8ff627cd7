import type { StreamRateLimits } from '../access/request-limits.js';
import type { ConnectedInbox } from '../connected/inbox-feed.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Stores } from '../store/index.js';
import type { EndReason, StreamFrame } from './frames.js';
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
  /** REST's rate limits, applied to stream connects (src/access/request-limits.ts); absent: none */
  rateLimits?: StreamRateLimits;
  /** the INBOX of connected mailboxes, read through the IMAP bridge (their streams replay from IMAP) */
  connected?: ConnectedInbox;
}
