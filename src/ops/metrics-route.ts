import type { Middleware } from 'koa';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { safeEqual } from './basic-auth.js';
import { errorJson } from '../core/error-body.js';

/** metrics kept elsewhere in the process (the delivery worker's thread in `npm start`), merged into the scrape */
export type MoreMetrics = () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;

/**
 * GET /metrics in Prometheus text format. With a token configured the scraper must send
 * `Authorization: Bearer <METRICS_TOKEN>`; without one the endpoint is open (bind it to a private network).
 */
export const metricsRoute =
  (registry: Registry, token: string | undefined, more?: MoreMetrics): Middleware =>
  async (ctx, next) => {
    if (ctx.path !== '/metrics') {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = errorJson('method_not_allowed', `${ctx.method} is not allowed here`, ctx.state.requestId);
      return;
    }
    if (token !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
      if (!m || !safeEqual(m[1]!, token)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        ctx.body = errorJson('unauthorized', 'metrics token required', ctx.state.requestId);
        return;
      }
    }
    ctx.type = registry.contentType;
    ctx.body = more
      ? await AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), await more()]).metrics()
      : await registry.metrics();
  };
