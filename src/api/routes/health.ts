import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import type { RedisClient } from '../../core/redis.js';
import { within } from '../../core/timeout.js';
import type { Queues } from '../../queue/producers.js';
import { probeQueues } from '../../queue/readiness.js';

/**
 * /healthz: the process is alive. /readyz: Postgres answers, and Redis answers for every queue (a command in each
 * queue's slot: src/queue/readiness.ts), else 503 naming the one that does not.
 */
export function healthRoutes(
  deps: { db: Knex; redis: RedisClient; queues?: Pick<Queues, 'all'> },
  timeoutMs = 2_000,
): Router {
  const router = newRouter();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const [postgres, redis] = await Promise.all([
      within(deps.db.raw('select 1'), timeoutMs).then(
        () => 'ok',
        (e: Error) => `failed: ${e.message}`,
      ),
      within(
        deps.redis.ping().then(() => (deps.queues ? probeQueues(deps.redis, deps.queues.all()) : undefined)),
        timeoutMs,
      ).then(
        (failure) => (failure ? `failed: ${failure}` : 'ok'),
        (e: Error) => `failed: ${e.message}`,
      ),
    ]);
    const ready = postgres === 'ok' && redis === 'ok';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks: { postgres, redis } };
  });
  return router;
}
