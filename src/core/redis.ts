import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../core/config.js';

export type RedisRole = 'producer' | 'worker' | 'subscriber' | 'command';

/**
 * Auto-pipelining (REDIS_AUTO_PIPELINING=on, or adaptive: on only while the role is busy, see src/queue/pipelining.ts):
 * commands issued in the same event-loop turn leave in one socket write
 * (e.g. a delivery batch's job completions and new_message publishes). Order on the connection is unchanged.
 * It lowers worker and Redis CPU per message under load (figures: docs/benchmarks/README.md).
 * Not for the subscriber connection (subscriber mode; ioredis would not pipeline it anyway).
 * Producers fail fast (no offline queue, one retry) so the ingress can answer 451 instead of hanging;
 * workers and subscribers are patient (BullMQ requires maxRetriesPerRequest: null).
 * The connection is established before it is returned: start-up fails loudly when Redis is down.
 */
export async function connectRedis(
  config: Pick<Config, 'redis'>,
  role: RedisRole,
  extra: RedisOptions = {},
): Promise<Redis> {
  const common: RedisOptions = {
    lazyConnect: true,
    connectionName: `mailwright-${role}`,
    // adaptive: off until the role's load turns it on (src/queue/pipelining.ts)
    enableAutoPipelining: config.redis.autoPipelining === 'on' && role !== 'subscriber',
    // rediss:// turns TLS on; REDIS_TLS_CA_FILE adds the private CA that signed the server's certificate
    ...(config.redis.tlsCa ? { tls: { ca: config.redis.tlsCa } } : {}),
    ...extra,
  };
  const opts: RedisOptions =
    role === 'producer' || role === 'command'
      ? { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 3_000 }
      : { ...common, maxRetriesPerRequest: null };
  const redis = new Redis(config.redis.url, opts);
  // the socket's own error (a refused connection, a certificate the CA did not sign) is what connect() reports as
  // "Connection is closed": keep it for the start-up message
  let socketError: Error | undefined;
  redis.on('error', (err: Error) => {
    socketError ??= err; /* else reported by the commands that fail; reconnects on its own */
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const reason =
      socketError && socketError.message !== (err as Error).message
        ? `${(err as Error).message} ${socketError.message}`
        : (err as Error).message;
    throw new Error(`Redis is not answering at ${redactUrl(config.redis.url)} (${reason})`, { cause: err });
  }
  return redis;
}

export const redactUrl = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');
