import type { Middleware } from 'koa';
import type { Config } from '../core/config.js';
import type { Queues } from '../queue/producers.js';
import { adminBoard } from './admin-board.js';
import type { Metrics } from './metrics.js';
import { metricsRoute, type MoreMetrics } from './metrics-route.js';

/** Operator endpoints of the web role: GET /metrics and, when ADMIN_USER/ADMIN_PASSWORD are set, Bull Board. */
export function operatorMounts(
  deps: { config: Config; metrics: Metrics; queues: Queues },
  moreMetrics?: MoreMetrics,
): Middleware[] {
  const board = adminBoard(deps.queues.all(), deps.config.ops);
  return [metricsRoute(deps.metrics.registry, deps.config.ops.metricsToken, moreMetrics), ...(board ? [board] : [])];
}
