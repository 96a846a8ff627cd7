import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { listen } from '../core/listen.js';
import { once } from '../core/shutdown.js';
import type { Metrics } from './metrics.js';
import { metricsRoute } from './metrics-route.js';
import { errorBody, errorJson } from '../core/error-body.js';

export interface MetricsServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * The smtp and worker roles have no web server: with METRICS_PORT set they open this small listener
 * (GET /metrics, GET /healthz). METRICS_PORT unset or 0: nothing listens. Tests pass `port: 0` for any free port.
 */
export async function startMetricsServer(
  deps: { config: Config; log: Logger; metrics: Metrics },
  opts: { port?: number } = {},
): Promise<MetricsServer | undefined> {
  const port = opts.port ?? deps.config.ops.metricsPort;
  if (opts.port === undefined && !port) return undefined;
  const app = new Koa();
  app.on('error', (err: Error) => deps.log.debug({ event: 'metrics.http_error', err }));
  // a failure answers as on every other edge (core/error-body.ts): JSON, 500 for the unexpected, and logged
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const answer = errorBody(err);
      if (answer.status >= 500) deps.log.error({ event: 'metrics.failed', err, path: ctx.path });
      ctx.set(answer.headers);
      ctx.status = answer.status;
      ctx.body = answer.body;
    }
  });
  app.use(metricsRoute(deps.metrics.registry, deps.config.ops.metricsToken));
  app.use((ctx) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    ctx.status = 404;
    ctx.body = errorJson('not_found', 'no such route');
  });
  const koa = app.callback();
  // Koa's handler settles every request itself (errors go to app.on('error')): it never rejects
  const server = createServer((req, res) => void koa(req, res));
  server.keepAliveTimeout = 5_000;
  await listen(server, {
    port,
    host: deps.config.ops.metricsHost,
    portVariable: 'METRICS_PORT',
    hostVariable: 'METRICS_HOST',
  });
  const bound = (server.address() as AddressInfo).port;
  deps.log.info({ event: 'metrics.listening', host: deps.config.ops.metricsHost, port: bound });
  return {
    port: bound,
    close: once(async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }),
  };
}
