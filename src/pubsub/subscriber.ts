import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { connectRedis, isCluster } from '../core/redis.js';
import { accessChannel, channelNamespace, isAccessEvent, mailboxChannel, type StreamEvent } from './events.js';

/** Which mailbox channels this web process listens to: the hub asks for one while it has a listener for it. */
export interface MailboxChannels {
  /** SUBSCRIBE to the mailbox's channel unless already subscribed; resolves once Redis confirmed it. */
  want(mailboxId: string): Promise<void>;
  /** The mailbox's last listener left: UNSUBSCRIBE after the linger, unless it is wanted again meanwhile. */
  drop(mailboxId: string): void;
}

export interface MailEventSubscription {
  redis: RedisClient;
  channels: MailboxChannels;
  close(): Promise<void>;
}

const TYPES = new Set(['new_message', 'mailbox_expired', 'token_revoked', 'api_key_revoked']);

/** Parse one published payload; anything malformed is ignored (returns undefined). */
export function parseMailEvent(payload: string): StreamEvent | undefined {
  try {
    const e = JSON.parse(payload) as StreamEvent;
    if (!e || typeof e !== 'object' || !TYPES.has(e.type)) return undefined;
    if (isAccessEvent(e)) return typeof e.keyId === 'string' ? e : undefined;
    if (typeof e.mailboxId !== 'string') return undefined;
    if (
      e.type === 'new_message' &&
      (typeof e.cursor !== 'string' ||
        !/^([0-9]{1,15}|[0-9]{1,10}\.[0-9]{1,10})$/.test(e.cursor) ||
        typeof e.message?.id !== 'string')
    )
      return undefined;
    if (e.type === 'token_revoked' && typeof e.jti !== 'string') return undefined;
    return e;
  } catch {
    return undefined;
  }
}

interface Channel {
  ready: Promise<void>;
  linger?: NodeJS.Timeout;
}

/**
 * The single Redis subscriber connection of a web process: one SUBSCRIBE on the access channel (API key
 * revocations), plus one SUBSCRIBE per mailbox that has a listener here (a stream or a wait), every event
 * handed to `dispatch` (the hub). A web process therefore receives only the events of mailboxes it serves,
 * however many mailboxes and web processes there are (a pattern subscription would deliver every event of
 * the installation to every web process). A channel whose last listener left stays subscribed for
 * STREAM_UNSUBSCRIBE_LINGER_MS, so clients that reconnect or wait again do not cost a round trip each.
 * ioredis re-subscribes every channel after a reconnect; events published while it was away are recovered
 * by clients resuming from their cursor. Commands on one connection are answered in order, so a SUBSCRIBE
 * sent after an UNSUBSCRIBE of the same channel leaves it subscribed.
 */
export async function subscribeToMailEvents(
  config: Pick<Config, 'redis' | 'streams'>,
  log: Logger,
  dispatch: (e: StreamEvent) => void,
  /** called with the number of mailbox channels whenever it changes (a gauge) */
  onChannels: (n: number) => void = () => undefined,
): Promise<MailEventSubscription> {
  const redis = await connectRedis(config, 'subscriber');
  // a cluster uses sharded pub/sub (SSUBSCRIBE on the master owning each channel's slot; the publisher SPUBLISHes)
  const sharded = isCluster(redis);
  const sub = (channel: string) => (sharded ? redis.ssubscribe(channel) : redis.subscribe(channel));
  const unsub = (channel: string) => (sharded ? redis.sunsubscribe(channel) : redis.unsubscribe(channel));
  const namespace = channelNamespace(config.redis);
  const access = accessChannel(namespace);
  const mailboxPrefix = mailboxChannel(namespace, '');
  const channels = new Map<string, Channel>();
  let closing = false;
  redis.on(sharded ? 'smessage' : 'message', (channel: string, payload: string) => {
    const e = parseMailEvent(payload);
    const ok =
      e && (channel === access ? isAccessEvent(e) : !isAccessEvent(e) && channel === mailboxPrefix + e.mailboxId);
    if (!ok) {
      log.warn({ event: 'pubsub.bad_event', channel });
      return;
    }
    dispatch(e);
  });
  await sub(access);
  log.info({ event: 'pubsub.subscribed', channel: access, mailboxChannels: 'per mailbox with a listener' });

  const lingerMs = config.streams.unsubscribeLingerMs;
  const unsubscribe = (mailboxId: string) => {
    channels.delete(mailboxId);
    onChannels(channels.size);
    if (closing) return;
    unsub(mailboxPrefix + mailboxId).catch((err: unknown) =>
      log.warn({ event: 'pubsub.unsubscribe_failed', mailboxId, err }),
    );
  };
  const mailboxChannels: MailboxChannels = {
    want(mailboxId) {
      const known = channels.get(mailboxId);
      if (known) {
        clearTimeout(known.linger);
        known.linger = undefined;
        return known.ready;
      }
      const ready = sub(mailboxPrefix + mailboxId).then(() => undefined);
      ready.catch((err: unknown) => {
        log.warn({ event: 'pubsub.subscribe_failed', mailboxId, err });
        // forget it, so that the next listener tries again
        if (channels.get(mailboxId)?.ready === ready) {
          channels.delete(mailboxId);
          onChannels(channels.size);
        }
      });
      channels.set(mailboxId, { ready });
      onChannels(channels.size);
      return ready;
    },
    drop(mailboxId) {
      const known = channels.get(mailboxId);
      if (!known || known.linger) return;
      if (lingerMs === 0) return unsubscribe(mailboxId);
      known.linger = setTimeout(() => unsubscribe(mailboxId), lingerMs);
      known.linger.unref();
    },
  };

  let closed: Promise<void> | undefined;
  return {
    redis,
    channels: mailboxChannels,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        for (const c of channels.values()) clearTimeout(c.linger);
        channels.clear();
        await redis.quit().then(
          () => undefined,
          () => redis.disconnect(),
        );
      })()),
  };
}
