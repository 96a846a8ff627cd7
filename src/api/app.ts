import type { KeyRing } from '../core/secret-box.js';
import Koa, { type Middleware } from 'koa';
import type { Knex } from 'knex';
import type { RedisClient } from '../core/redis.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { TokenSigner } from '../access/tokens.js';
import type { Metrics } from '../ops/metrics.js';
import type { Publisher } from '../pubsub/events.js';
import type { Stores } from '../store/index.js';
import type { PlanStore } from '../store/plans.js';
import type { Hub } from '../stream/hub.js';
import type { StreamRegistry } from '../stream/registry.js';
import { authentication } from './auth.js';
import { errorResponses } from './errors.js';
import { requestIdOf } from '../core/error-body.js';
import { openApiRoutes } from './openapi.js';
import { apiReferenceRoutes } from './openapi/reference.js';
import { healthRoutes } from './routes/health.js';
import { mailboxRoutes } from './routes/mailboxes.js';
import { connectedReadRoutes } from './routes/connected-reads.js';
import { mailboxTtlRoutes } from './routes/mailbox-ttl.js';
import { messageRoutes } from './routes/messages.js';
import { bounceRoutes } from './routes/bounces.js';
import { sesIngestRoutes } from './routes/ses-ingest.js';
import type { SnsFetch } from '../ingress/ses/sns-verifier.js';
import type { Queues } from '../queue/producers.js';
import type { LoadPipelining } from '../queue/pipelining.js';
import { keyRoutes } from './routes/keys.js';
import { tokenRoutes } from './routes/tokens.js';
import { waitRoutes } from './routes/wait.js';
import { outboundSendRoutes } from './routes/outbound.js';
import { outboundReadRoutes } from './routes/outbound-reads.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { apiRateLimits } from '../access/request-limits.js';
import { trackingRoutes } from './routes/tracking.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface ApiDeps {
  /** each request counts as work in flight (adaptive Redis auto-pipelining); optional for apps built in tests */
  pipelining?: Pick<LoadPipelining, 'busy'>;
  config: Config;
  log: Logger;
  db: Knex;
  redis: RedisClient;
  stores: Stores;
  plans: PlanStore;
  signer: TokenSigner;
  publisher: Publisher;
  metrics: Metrics;
  /** producers: SMTP-less ingress (SES) and expiry scheduling */
  queues: Queues;
  /** seals connected mailboxes' passwords; undefined: connected mailboxes are off (501 connected_disabled) */
  credentials?: KeyRing;
  /** SNS certificate / SubscribeURL fetcher; default https GET (tests inject a local certificate) */
  snsFetch?: SnsFetch;
  /** open/click tracking key (TRACKING_HMAC_SECRET or generated); undefined: /t/… answers 404 */
  trackingSecret?: string;
  /** real-time streams and the blocking wait (mounted only when given) */
  streams?: { hub: Hub; registry: StreamRegistry };
}

/**
 * Build the Koa app (never listens: roles/web.ts does, tests use app.callback()).
 * `mounts` (operator endpoints: /metrics, /admin/queues) run before API authentication.
 */
export function createApp(deps: ApiDeps, mounts: Middleware[] = []): Koa {
  const app = new Koa({ proxy: true });
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      deps.log.debug({ event: 'http.client_gone', code: err.code });
      return;
    }
    deps.log.error({ event: 'http.error', err });
  });

  app.use(async (ctx, next) => {
    ctx.state.requestId = requestIdOf(ctx.get('x-request-id'));
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = process.hrtime.bigint();
    try {
      await (deps.pipelining ? deps.pipelining.busy(next()) : next());
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      deps.metrics.httpSeconds.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      deps.log.debug({
        event: 'http.request',
        requestId: ctx.state.requestId,
        method: ctx.method,
        route,
        status: ctx.status,
        ms: Math.round(seconds * 1000),
      });
    }
  });
  app.use(errorResponses(deps.log));

  const health = healthRoutes(deps);
  app.use(health.routes());
  app.use(openApiRoutes(deps.config.http.publicUrl).routes());
  app.use(apiReferenceRoutes(deps.config.http.publicUrl).routes()); // GET /docs: public, not rate-limited
  for (const m of mounts) app.use(m); // operator endpoints: not rate-limited, own credentials
  const ses = sesIngestRoutes(deps); // before authentication and rate limits: SNS signs, it sends no bearer
  app.use(ses.routes()).use(ses.allowedMethods());
  const tracking = trackingRoutes(deps); // public: a mail client fetches the pixel and follows links, no bearer
  app.use(tracking.routes()).use(tracking.allowedMethods());
  const limits = apiRateLimits(deps);
  app.use(limits.byIp);
  app.use(authentication(deps));
  app.use(limits.byPrincipal);
  const streams = deps.streams ? [waitRoutes({ ...deps, ...deps.streams })] : [];
  for (const router of [
    mailboxRoutes(deps),
    mailboxTtlRoutes(deps),
    ...streams,
    // before the hosted message routes: a connected mailbox's reads, else on to them
    connectedReadRoutes(deps),
    messageRoutes(deps),
    bounceRoutes(deps),
    tokenRoutes(deps),
    keyRoutes(deps),
    outboundSendRoutes(deps),
    outboundReadRoutes(deps),
    suppressionRoutes(deps),
    webhookRoutes(deps),
  ]) {
    app.use(router.routes()).use(router.allowedMethods());
  }
  return app;
}
