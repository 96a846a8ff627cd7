import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../core/config.js';
import type { RedisClusterTarget } from './redis-url.js';

/** A standalone client or a cluster client (REDIS_URL=redis+cluster://…): the same commands, the same BullMQ. */
export type RedisClient = Redis | Cluster;

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
): Promise<RedisClient> {
  const failFast = role === 'producer' || role === 'command';
  const common: RedisOptions = {
    lazyConnect: true,
    connectionName: `mailwright-${role}`,
    // adaptive: off until the role's load turns it on (src/queue/pipelining.ts)
    enableAutoPipelining: config.redis.autoPipelining === 'on' && role !== 'subscriber',
    // rediss:// turns TLS on; REDIS_TLS_CA_FILE adds the private CA that signed the server's certificate
    ...(config.redis.tlsCa ? { tls: { ca: config.redis.tlsCa } } : {}),
    ...extra,
  };
  const opts: RedisOptions = failFast
    ? { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 3_000 }
    : { ...common, maxRetriesPerRequest: null };
  const target = config.redis.cluster;
  const redis: RedisClient = target ? clusterClient(target, opts, role) : new Redis(config.redis.url, opts);
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
  if (!target) await refuseClusterNode(redis as Redis, config.redis.url);
  return redis;
}

/**
 * A cluster client (REDIS_URL=redis+cluster://seed1,seed2): it reads the slot map from a seed, keeps one connection
 * per master, sends each command to the master owning its key's slot and follows MOVED (slot map refreshed) and
 * ASK (one command redirected while a slot migrates), retrying TRYAGAIN and CLUSTERDOWN after a short delay: a
 * live migration or a failover delays commands instead of failing them. Reads go to masters only (a replica may
 * lag: a job read there could be one the master already moved on). The subscriber role opens one connection per
 * master for sharded pub/sub (SSUBSCRIBE, src/pubsub/subscriber.ts).
 */
function clusterClient(target: RedisClusterTarget, opts: RedisOptions, role: RedisRole): Cluster {
  const { lazyConnect, enableOfflineQueue, enableAutoPipelining, tls, ...nodeOptions } = opts;
  const options: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining,
    scaleReads: 'master',
    shardedSubscribers: role === 'subscriber',
    // no ready check (CLUSTER INFO must say cluster_state:ok): when it fails (a master killed, the cluster not yet
    // agreed on its replica) ioredis 6.0 reconnects in the background and leaves the connect() that ran it pending
    // for ever, and BullMQ awaits exactly that connect() when it revives a worker's blocking connection after an
    // error: that worker then takes no job again and never finishes closing (docs/scaling.md, "A master killed").
    // Commands sent meanwhile get CLUSTERDOWN and are retried (retryDelayOnClusterDown), as on a connected client.
    enableReadyCheck: false,
    // seed nodes are tried in turn; a failover elects a new master within a few seconds
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
    retryDelayOnTryAgain: 50,
    retryDelayOnClusterDown: 200,
    redisOptions: {
      ...nodeOptions,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: tls ?? {} } : {}),
    },
  };
  return new Cluster(target.nodes, options);
}

/**
 * A standalone REDIS_URL that names one node of a Redis Cluster works until the first key of a slot that node does
 * not own (MOVED, every queue command failing): refuse it at start, saying what to write instead.
 */
async function refuseClusterNode(redis: Redis, url: string): Promise<void> {
  const info = await redis.info('cluster').catch(() => '');
  if (!/cluster_enabled:1/.test(info)) return;
  redis.disconnect();
  throw new Error(
    `REDIS_URL ${redactUrl(url)} names a node of a Redis Cluster (cluster_enabled:1): a standalone client would get MOVED` +
      ' for every key that node does not own. Write REDIS_URL as redis+cluster://host1:port1,host2:port2 (seed nodes;' +
      ' rediss+cluster:// for TLS), see docs/scaling.md',
  );
}

export const redactUrl = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster;
