import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { connectRedis } from '../queue/connection.js';
import { accessChannel, isAccessEvent, mailboxChannelPattern, type StreamEvent } from './events.js';

export interface MailEventSubscription { redis: Redis; close(): Promise<void> }

const TYPES = new Set(['new_message', 'mailbox_expired', 'token_revoked', 'api_key_revoked']);

/** Parse one published payload; anything malformed is ignored (returns undefined). */
export function parseMailEvent(payload: string): StreamEvent | undefined {
  try {
    const e = JSON.parse(payload) as StreamEvent;
    if (!e || typeof e !== 'object' || !TYPES.has(e.type)) return undefined;
    if (isAccessEvent(e)) return typeof e.keyId === 'string' ? e : undefined;
    if (typeof e.mailboxId !== 'string') return undefined;
    if (e.type === 'new_message' && (typeof e.cursor !== 'string' || !/^[0-9]{1,15}$/.test(e.cursor) || typeof e.message?.id !== 'string')) return undefined;
    if (e.type === 'token_revoked' && typeof e.jti !== 'string') return undefined;
    return e;
  } catch {
    return undefined;
  }
}

/**
 * The single Redis subscriber connection of a web process: one PSUBSCRIBE on the prefix's mailbox
 * pattern plus one SUBSCRIBE on the access channel (API key revocations), every event handed to
 * `dispatch` (the hub). ioredis re-subscribes after a reconnect; events published while it was away are
 * recovered by clients resuming from their cursor.
 */
export async function subscribeToMailEvents(config: Pick<Config, 'redis'>, log: Logger, dispatch: (e: StreamEvent) => void): Promise<MailEventSubscription> {
  const redis = await connectRedis(config, 'subscriber');
  const pattern = mailboxChannelPattern(config.redis.prefix);
  const access = accessChannel(config.redis.prefix);
  redis.on('pmessage', (_pattern: string, channel: string, payload: string) => {
    const e = parseMailEvent(payload);
    if (!e || isAccessEvent(e) || !channel.endsWith(`:mailbox:${e.mailboxId}`)) {
      log.warn({ event: 'pubsub.bad_event', channel });
      return;
    }
    dispatch(e);
  });
  redis.on('message', (channel: string, payload: string) => {
    const e = parseMailEvent(payload);
    if (channel !== access || !e || !isAccessEvent(e)) {
      log.warn({ event: 'pubsub.bad_event', channel });
      return;
    }
    dispatch(e);
  });
  await redis.psubscribe(pattern);
  await redis.subscribe(access);
  log.info({ event: 'pubsub.subscribed', pattern, channel: access });
  let closed: Promise<void> | undefined;
  return {
    redis,
    close: () => (closed ??= redis.quit().then(() => undefined, () => redis.disconnect())),
  };
}
