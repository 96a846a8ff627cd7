import type { Middleware } from 'koa';
import type { Deps } from '../container.js';
import { adminBoard } from './admin-board.js';
import { metricsRoute, type MoreMetrics } from './metrics-route.js';

/** Operator endpoints of the web role: GET /metrics and, when ADMIN_USER/ADMIN_PASSWORD are set, Bull Board. */
export function operatorMounts(deps: Pick<Deps, 'config' | 'metrics' | 'queues'>, moreMetrics?: MoreMetrics): Middleware[] {
  const board = adminBoard(deps.queues.all(), deps.config.ops);
  return [metricsRoute(deps.metrics.registry, deps.config.ops.metricsToken, moreMetrics), ...(board ? [board] : [])];
}
