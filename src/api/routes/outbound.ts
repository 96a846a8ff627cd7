import type { Context } from 'koa';
import type Router from '@koa/router';
import type { Knex } from 'knex';
import { mailboxFor } from '../../access/principal.js';
import { BadRequest } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { KeyRing } from '../../core/secret-box.js';
import type { Metrics } from '../../ops/metrics.js';
import { acceptSend } from '../../outbound/accept.js';
import { checkSendBody, SendBody } from '../../outbound/request.js';
import type { Queues } from '../../queue/producers.js';
import type { Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import { principalOf } from '../auth.js';
import { parseBody, readText } from '../body.js';
import { withIdempotency } from '../idempotency.js';
import { newRouter } from '../router.js';

export interface OutboundRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  plans: PlanStore;
  queues: Queues;
  log: Logger;
  metrics: Metrics;
  credentials?: KeyRing;
}

/** The body as JSON: read within OUTBOUND_MAX_REQUEST_BYTES (413), not JSON → 400 invalid_body. */
async function readSendBody(ctx: Context, limit: number): Promise<unknown> {
  const text = (await readText(ctx, limit)).trim();
  try {
    return JSON.parse(text || 'null');
  } catch {
    throw new BadRequest('invalid request body: not JSON', 'invalid_body');
  }
}

/** `POST /api/v1/mailboxes/{address}/outbound` (the `send` permission): accepted → 202, sent by the worker. */
export function outboundSendRoutes(deps: OutboundRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address/outbound');
  router.post('/', async (ctx) => {
    const principal = principalOf(ctx);
    const mailbox = await mailboxFor(principal, deps.stores, ctx.params.address, 'send', { connected: true });
    const value = await readSendBody(ctx, deps.config.outbound.maxRequestBytes);
    const request = checkSendBody(parseBody(value, SendBody), deps.config.outbound.maxRecipients);
    await withIdempotency(
      ctx,
      { db: deps.db, staleMs: deps.config.outbound.idempotencyInProgressMs },
      { principal, body: value, status: 202 },
      (inTransaction) =>
        acceptSend(
          {
            config: deps.config,
            db: deps.db,
            users: deps.stores.users,
            plans: deps.plans,
            queue: deps.queues.outbound,
            webhooks: deps.queues.webhooks,
            log: deps.log,
            metrics: deps.metrics,
            connectedEnabled: deps.credentials !== undefined,
          },
          { mailbox, principal, request, inTransaction },
        ),
    );
  });
  return router;
}
