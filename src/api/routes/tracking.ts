import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import type { Config } from '../../core/config.js';
import { NotFound } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { verifyTrackingToken } from '../../core/tracking-token.js';
import type { Queues } from '../../queue/producers.js';
import { enqueueWebhookDeliveriesSafely } from '../../queue/webhook-jobs.js';
import { recordTrackingHit } from '../../store/tracking.js';
import { newRouter } from '../router.js';

export interface TrackingRouteDeps {
  config: Config;
  db: Knex;
  log: Logger;
  queues: Pick<Queues, 'webhooks'>;
  /** TRACKING_HMAC_SECRET (or this machine's generated one); undefined: tracking is off, every token is a 404 */
  trackingSecret?: string;
}

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const USER_AGENT_MAX = 512;

/**
 * The public tracking endpoints (no credential: a mail client fetches them). `GET /t/o/{token}` answers the pixel,
 * `GET /t/c/{token}` redirects (302) to the destination the token carries. A token that does not verify is a 404
 * without `Location` (no open redirect). A GET records `opened`/`clicked` (capped per message, store/tracking.ts)
 * with the user agent, never the IP; HEAD answers the same and records nothing. Recording never delays or fails
 * the answer's content: a failure is logged.
 */
export function trackingRoutes(deps: TrackingRouteDeps): Router {
  const router = newRouter('/t');
  const record = async (ctx: Context, messageId: string, kind: 'opened' | 'clicked', url?: string) => {
    if (ctx.method !== 'GET') return;
    try {
      const hit = await recordTrackingHit(deps.db, {
        messageId,
        kind,
        userAgent: ctx.get('user-agent').slice(0, USER_AGENT_MAX) || null,
        ...(url ? { url } : {}),
      });
      await enqueueWebhookDeliveriesSafely(
        deps.queues.webhooks,
        hit.webhookDeliveries,
        deps.log,
        deps.config.redis.enqueueTimeoutMs,
      );
    } catch (err) {
      deps.log.warn({ event: 'tracking.record_failed', kind, outboundMessageId: messageId, err });
    }
  };
  const verify = (kind: 'open' | 'click', token: string) =>
    deps.trackingSecret ? verifyTrackingToken(deps.trackingSecret, kind, token) : undefined;

  router.get('/o/:id', async (ctx) => {
    const token = verify('open', ctx.params.id);
    if (!token) throw new NotFound();
    await record(ctx, token.messageId, 'opened');
    ctx.set('Cache-Control', 'no-store, no-cache, must-revalidate, private');
    ctx.type = 'image/gif';
    ctx.body = PIXEL_GIF;
  });

  router.get('/c/:id', async (ctx) => {
    const token = verify('click', ctx.params.id);
    if (!token?.url) throw new NotFound();
    await record(ctx, token.messageId, 'clicked', token.url);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 302;
    ctx.set('Location', token.url);
    ctx.body = '';
  });

  return router;
}
