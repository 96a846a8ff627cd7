import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { Forbidden, NotFound, QuotaExceeded, Unauthorized } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { toIso } from '../../core/time.js';
import { publishSafely, type Publisher } from '../../pubsub/events.js';
import type { ApiKeyRecord } from '../../store/api-keys.js';
import { createStores, type Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import { principalOf } from '../auth.js';
import { expectNoBody, readJson } from '../body.js';
import { onlyParams } from '../../core/params.js';

export interface KeyRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  plans: PlanStore;
  publisher: Publisher;
  log: Logger;
}

/** Strict: `user_id`, `plan`, `prefix`, `revoked_at` ... are unknown fields, hence a 400. */
const CreateKey = z.strictObject({ name: z.string().trim().min(1).max(100).optional() });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const presentKey = (k: ApiKeyRecord) => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  created_at: toIso(k.createdAt),
  last_used_at: toIso(k.lastUsedAt),
  revoked_at: toIso(k.revokedAt),
});

/** Only an API key manages API keys (a mailbox token is scoped to one mailbox). */
function userOf(ctx: Context): string {
  const p = principalOf(ctx);
  if (p.kind === 'anonymous') throw new Unauthorized('managing API keys needs an API key');
  if (p.kind === 'token')
    throw new Forbidden('a mailbox token cannot manage API keys; use an API key', 'api_key_required');
  return p.userId;
}

/** The caller's own API keys: create (secret shown once), list (prefix, never the secret), revoke. */
export function keyRoutes(deps: KeyRouteDeps): Router {
  const router = newRouter('/api/v1/keys');
  const { stores, config } = deps;

  router.post('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const userId = userOf(ctx);
    const body = await readJson(ctx, CreateKey);
    const created = await deps.db.transaction(async (trx) => {
      await trx('users').where({ id: userId }).forUpdate().first('id');
      const tx = createStores(trx, { plans: deps.plans });
      if ((await tx.apiKeys.countActive(userId)) >= config.access.apiKeysPerUserMax) {
        throw new QuotaExceeded(
          `at most ${config.access.apiKeysPerUserMax} active API keys; revoke one first`,
          'key_limit_reached',
        );
      }
      // a prefix already taken is retried with a fresh key (store); attempts > 1 is logged
      return tx.apiKeys.create({ userId, name: body.name ?? null });
    });
    const { record, key, attempts } = created;
    deps.log.info({
      event: 'api_key.created',
      userId,
      keyId: record.id,
      prefix: record.prefix,
      ...(attempts > 1 ? { attempts } : {}),
    });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...presentKey(record), key };
  });

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, []);
    ctx.body = (await stores.apiKeys.listByUser(userOf(ctx))).map(presentKey);
  });

  router.delete('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const userId = userOf(ctx);
    await expectNoBody(ctx);
    const id = ctx.params.id;
    // another user's key is indistinguishable from one that does not exist
    const record = UUID.test(id) ? await stores.apiKeys.findForUser(userId, id) : undefined;
    if (!record) throw new NotFound('API key not found', 'api_key_not_found');
    // the stored id, not the path's spelling: Postgres matches a uuid in any case, but streams and waits compare
    // the event's keyId with the id as stored (lower case), so `DELETE /keys/<ID IN UPPER CASE>` left them open
    if (await stores.apiKeys.revoke(userId, record.id)) {
      deps.log.info({ event: 'api_key.revoked', userId, keyId: record.id });
      // open WS/SSE streams authenticated with this key close on this event, in every web process
      await publishSafely(deps.publisher, { type: 'api_key_revoked', keyId: record.id }, deps.log);
    }
    ctx.status = 204;
  });

  return router;
}
