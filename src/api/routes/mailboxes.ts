import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { BadRequest, Forbidden, Unauthorized } from '../../core/errors.js';
import { toIso } from '../../core/time.js';
import type { TokenSigner } from '../../access/tokens.js';
import { createMailbox } from '../../mailboxes/create.js';
import { cancelExpirySafely } from '../../queue/expiry-jobs.js';
import type { Queues } from '../../queue/producers.js';
import type { Logger } from '../../core/log.js';
import { publishSafely, type Publisher } from '../../pubsub/events.js';
import type { Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import { mailboxFor } from '../../access/principal.js';
import { principalOf } from '../auth.js';
import { chosenLocalPart } from '../../core/local-part.js';
import { jsonPositiveInt, mergeParams, parseBody, readJsonValue } from '../body.js';
import { createConnected, wantsConnected } from './connected-create.js';
import { forgetCredentials } from '../../store/connected-mailboxes.js';
import type { KeyRing } from '../../core/secret-box.js';
import { booleanParam, onlyParams, positiveInt } from '../../core/params.js';
import { presentMailbox } from '../present.js';

export interface MailboxRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  plans: PlanStore;
  signer: TokenSigner;
  publisher: Publisher;
  log: Logger;
  queues: Pick<Queues, 'maintenance'>;
  credentials?: KeyRing;
}

/** The creation fields as a JSON body (strict: any other field is a 400 naming it); the same as query parameters. */
const CreateMailbox = z.strictObject({
  ttl_minutes: jsonPositiveInt.optional(),
  domain: z.string().optional(),
  local_part: z.string().optional(),
});

/** A query parameter that is a string given once (a repeated one is an array: 400 invalid_<name>). */
const onceParam = (value: unknown, name: string) => {
  if (value !== undefined && typeof value !== 'string')
    throw new BadRequest(`${name} must be given once`, `invalid_${name}`);
  return value;
};

export function mailboxRoutes(deps: MailboxRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes');

  router.post('/', async (ctx) => {
    onlyParams(ctx.query, ['ttl_minutes', 'domain', 'local_part']);
    const fromQuery = {
      ttl_minutes: positiveInt(ctx.query.ttl_minutes, 'ttl_minutes'),
      domain: onceParam(ctx.query.domain, 'domain'),
      local_part: onceParam(ctx.query.local_part, 'local_part'),
    };
    const body = await readJsonValue(ctx);
    const p = principalOf(ctx);
    if (wantsConnected(body)) {
      await createConnected(ctx, deps, p, body);
      return;
    }
    const params = mergeParams(fromQuery, parseBody(body, CreateMailbox));
    if (p.kind === 'token')
      throw new Forbidden(
        'a mailbox token cannot create mailboxes; use an API key or no credential',
        'token_cannot_create',
      );
    if (params.local_part !== undefined && p.kind !== 'user') {
      throw new Forbidden('choosing local_part needs an API key', 'api_key_required');
    }
    const created = await createMailbox(deps, {
      ownerUserId: p.kind === 'user' ? p.userId : null,
      planId: p.kind === 'user' ? p.planId : 'anonymous',
      ttlMinutes: params.ttl_minutes,
      domain: params.domain,
      localPart:
        params.local_part === undefined ? undefined : chosenLocalPart(params.local_part, deps.config.mail.tagSeparator),
    });
    deps.log.info({
      event: 'mailbox.created',
      mailboxId: created.mailbox.id,
      plan: created.mailbox.planId,
      ttlMinutes: created.ttlMinutes,
    });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/mailboxes/${encodeURIComponent(created.mailbox.address)}`);
    // the body carries the mailbox token, shown once (as the token and key creation responses)
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      address: created.mailbox.address,
      expires_at: toIso(created.mailbox.expiresAt),
      created_at: toIso(created.mailbox.createdAt),
      ttl_minutes: created.ttlMinutes,
      token: created.token,
    };
  });

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['limit', 'include_inactive']);
    const p = principalOf(ctx);
    if (p.kind === 'anonymous') throw new Unauthorized('listing mailboxes needs an API key or a mailbox token');
    // checked for every credential (a token lists one mailbox, but a bad value is still a 400)
    const limit = positiveInt(ctx.query.limit, 'limit', { max: 1000 }) ?? 100;
    const includeInactive = booleanParam(ctx.query.include_inactive, 'include_inactive') ?? false;
    if (p.kind === 'token') {
      // the same permission as GET /mailboxes/{address}: a token without `read` does not see the mailbox's state
      if (!p.permissions.includes('read'))
        throw new Forbidden('this token lacks the "read" permission', 'insufficient_permission');
      const m = await deps.stores.mailboxes.findById(p.mailboxId);
      ctx.body = m ? [presentMailbox(m)] : [];
      return;
    }
    ctx.body = (await deps.stores.mailboxes.listByOwner(p.userId, { limit, includeInactive })).map(presentMailbox);
  });

  router.get('/:address', async (ctx) => {
    onlyParams(ctx.query, []);
    const m = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read', { connected: true });
    ctx.body = presentMailbox(m);
  });

  router.delete('/:address', async (ctx) => {
    onlyParams(ctx.query, []);
    const m = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'manage', {
      allowInactive: true,
      connected: true,
    });
    // a connected mailbox's credentials are forgotten at once (also on a repeated DELETE: nothing to keep)
    if (m.kind === 'connected') await forgetCredentials(deps.db, m.id);
    if (await deps.stores.mailboxes.deactivate(m.id, 'deleted')) {
      deps.log.info({ event: 'mailbox.deleted', mailboxId: m.id });
      await cancelExpirySafely(deps.queues.maintenance, m.id, deps.log, deps.config.redis.enqueueTimeoutMs);
      await publishSafely(deps.publisher, { type: 'mailbox_expired', mailboxId: m.id, reason: 'deleted' }, deps.log);
    }
    ctx.status = 204;
  });

  return router;
}
