import { isCluster, type RedisClient } from '../core/redis.js';
import type { Logger } from '../core/log.js';

/** What a stream client is told: the signal, never the body (the client fetches by id). */
export interface MessageSummaryEvent {
  id: string;
  from_address: string | null;
  subject: string | null;
  received_at: string | null;
  has_attachments: boolean;
  /** the recipient's tag (`box+tag@…`); null: none. Absent in events of workers older than tags. */
  tag?: string | null;
  /** connected mailboxes: `\Seen` (the event's message is then exactly the connected list item) */
  is_read?: boolean;
}

export type MailEvent =
  /** cursor: the message's seq (hosted), or `<uidvalidity>.<uid>` of the INBOX (connected) */
  | { type: 'new_message'; mailboxId: string; cursor: string; message: MessageSummaryEvent }
  | { type: 'mailbox_expired'; mailboxId: string; reason: 'expired' | 'deleted' }
  /** an agent token was revoked: streams authenticated with it must close at once */
  | { type: 'token_revoked'; mailboxId: string; jti: string };

/**
 * Events about a credential rather than a mailbox, on one channel (`<namespace>:access`) that every web
 * process subscribes to. They carry the key id, never the secret.
 */
export type AccessEvent =
  /** an API key was revoked: streams authenticated with it must close at once */
  { type: 'api_key_revoked'; keyId: string };

/** Everything the web process's subscriber hands to the hub. */
export type StreamEvent = MailEvent | AccessEvent;

/**
 * The start of every channel name of a deployment. Redis pub/sub is server-wide: a database index in REDIS_URL
 * separates keys but not channels, so the index is part of the name. QUEUE_PREFIX cannot hold `:`, so no
 * deployment's names can be another's. Database 0 keeps the plain prefix (`mw:mailbox:<id>`): the names used
 * before the index was added, so a rolling upgrade on database 0 keeps old and new processes on one channel.
 */
export const channelNamespace = (redis: { prefix: string; db: number }) =>
  redis.db === 0 ? redis.prefix : `${redis.prefix}:db${redis.db}`;

/** Channel per mailbox, under the deployment's namespace (see channelNamespace) so deployments never cross. */
export const mailboxChannel = (namespace: string, mailboxId: string) => `${namespace}:mailbox:${mailboxId}`;
/** Every mailbox channel of a deployment (the benchmark's observer; the web role subscribes per mailbox). */
export const mailboxChannelPattern = (namespace: string) => `${namespace}:mailbox:*`;
export const accessChannel = (namespace: string) => `${namespace}:access`;

export const isAccessEvent = (e: StreamEvent): e is AccessEvent => e.type === 'api_key_revoked';

export interface Publisher {
  publish(e: StreamEvent): Promise<void>;
}

/**
 * Publishes on the channels of `namespace` (channelNamespace(config.redis)). On a Redis Cluster with sharded pub/sub
 * (SPUBLISH, Redis 7): the event goes to the master owning the channel's slot and its replicas only, instead of
 * being broadcast over the cluster bus to every node; mailbox channels spread over the masters like keys.
 */
export function redisPublisher(redis: RedisClient, namespace: string, sharded = isCluster(redis)): Publisher {
  return {
    async publish(e) {
      const channel = isAccessEvent(e) ? accessChannel(namespace) : mailboxChannel(namespace, e.mailboxId);
      await (sharded ? redis.spublish(channel, JSON.stringify(e)) : redis.publish(channel, JSON.stringify(e)));
    },
  };
}

/** Publish after commit; a failure is logged and never fails the caller (the message is durable). */
export async function publishSafely(publisher: Publisher, e: StreamEvent, log: Logger): Promise<boolean> {
  try {
    await publisher.publish(e);
    return true;
  } catch (err) {
    log.warn({
      event: 'pubsub.publish_failed',
      ...(isAccessEvent(e) ? { keyId: e.keyId } : { mailboxId: e.mailboxId }),
      type: e.type,
      err,
    });
    return false;
  }
}
