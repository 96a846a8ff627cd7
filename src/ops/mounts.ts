import type { Middleware } from 'koa';
import type { Deps } from '../container.js';
import { adminBoard } from './admin-board.js';
import { metricsRoute } from './metrics-route.js';

/** Operator endpoints of the web role: GET /metrics and, when ADMIN_USER/ADMIN_PASSWORD are set, Bull Board. */
export function operatorMounts(deps: Pick<Deps, 'config' | 'metrics' | 'queues'>): Middleware[] {
  const board = adminBoard(deps.queues.all(), deps.config.ops.admin);
  return [metricsRoute(deps.metrics.registry, deps.config.ops.metricsToken), ...(board ? [board] : [])];
}
