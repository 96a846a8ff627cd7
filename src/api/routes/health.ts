import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { within } from '../../core/timeout.js';

/** /healthz: the process is alive. /readyz: Postgres and Redis answer (503 naming the one that does not). */
export function healthRoutes(deps: { db: Knex; redis: Redis }, timeoutMs = 2_000): Router {
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
      within(deps.redis.ping(), timeoutMs).then(
        () => 'ok',
        (e: Error) => `failed: ${e.message}`,
      ),
    ]);
    const ready = postgres === 'ok' && redis === 'ok';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks: { postgres, redis } };
  });
  return router;
}
