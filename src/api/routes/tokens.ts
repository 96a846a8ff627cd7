import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import { z } from 'zod';
import { grantToken } from '../../access/token-grant.js';
import type { TokenSigner } from '../../access/tokens.js';
import type { Config } from '../../core/config.js';
import { NotFound, QuotaExceeded, Unauthorized } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { toIso } from '../../core/time.js';
import { publishSafely, type Publisher } from '../../pubsub/events.js';
import { createStores, type Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import type { AgentToken } from '../../store/tokens.js';
import { mailboxFor } from '../../access/principal.js';
import { principalOf } from '../auth.js';
import { expectNoBody, readJson } from '../body.js';
import { onlyParams } from '../../core/params.js';

export interface TokenRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  plans: PlanStore;
  signer: TokenSigner;
  publisher: Publisher;
  log: Logger;
}

/** Strict: `mailbox_id`, `expires_at`, `user_id`, `is_revoked` ... are unknown fields, hence a 400. */
const CreateToken = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  permissions: z
    .array(z.enum(['read', 'send', 'manage']))
    .min(1)
    .max(3),
  // any whole number, capped like a mailbox TTL (zod's int() refuses integers beyond 2^53, e.g. 1e300)
  ttl_minutes: z
    .number()
    .positive()
    .refine(Number.isInteger, { message: 'expected an integer' })
    .transform((n) => Math.min(n, Number.MAX_SAFE_INTEGER))
    .optional(),
  // outbound: this token's own rolling 24 h cap of accepted recipients (0: it may not send)
  max_sends_per_day: z.number().int().min(0).max(2_147_483_647).optional(),
});

const JTI = /^[A-Za-z0-9_-]{1,64}$/;

export const presentToken = (t: AgentToken) => ({
  jti: t.jti,
  name: t.name,
  permissions: t.permissions,
  expires_at: toIso(t.expiresAt),
  is_revoked: t.isRevoked,
  revoked_at: toIso(t.revokedAt),
  created_at: toIso(t.createdAt),
  last_used_at: toIso(t.lastUsedAt),
  max_sends_per_day: t.maxSendsPerDay,
});

/** Agent tokens of one mailbox: mint (secret shown once), list (never the secret), revoke. All need `manage`. */
export function tokenRoutes(deps: TokenRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address/tokens');
  const { stores, config } = deps;

  router.post('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'manage', { connected: true });
    const body = await readJson(ctx, CreateToken);
    const p = principalOf(ctx);
    const parentRow = p.kind === 'token' ? await stores.tokens.findByJti(p.jti) : undefined;
    if (p.kind === 'token' && !parentRow) throw new Unauthorized('invalid token');
    const grant = grantToken({
      requested: body.permissions,
      ttlMinutes: body.ttl_minutes,
      parent: parentRow && { permissions: parentRow.permissions, expiresAt: parentRow.expiresAt },
      mailbox,
      limits: {
        defaultTtlMinutes: config.access.tokenDefaultTtlMinutes,
        maxTtlMinutes: config.access.tokenMaxTtlMinutes,
        unitMs: config.plans.ttlUnitMs,
      },
      now: new Date(),
    });
    const userId = p.kind === 'anonymous' ? null : p.userId;
    const { token, row } = await deps.db.transaction(async (trx) => {
      await trx('mailboxes').where({ id: mailbox.id }).forUpdate().first('id');
      const tx = createStores(trx, { plans: deps.plans });
      if ((await tx.tokens.countActive(mailbox.id)) >= config.access.tokensPerMailboxMax) {
        throw new QuotaExceeded(
          `a mailbox may have at most ${config.access.tokensPerMailboxMax} active tokens; revoke some first`,
          'token_limit_reached',
        );
      }
      const signed = await deps.signer.sign(mailbox.id, grant.permissions);
      const inserted = await tx.tokens.insert({
        jti: signed.jti,
        mailboxId: mailbox.id,
        userId,
        name: body.name ?? null,
        permissions: grant.permissions,
        expiresAt: grant.expiresAt,
        maxSendsPerDay: body.max_sends_per_day,
      });
      return { token: signed.token, row: inserted };
    });
    deps.log.info({ event: 'token.created', mailboxId: mailbox.id, jti: row.jti, permissions: row.permissions });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...presentToken(row), token };
  });

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'manage', {
      allowInactive: true,
      connected: true,
    });
    ctx.body = (await stores.tokens.listByMailbox(mailbox.id)).map(presentToken);
  });

  router.delete('/:jti', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'manage', {
      allowInactive: true,
      connected: true,
    });
    await expectNoBody(ctx);
    const jti = ctx.params.jti;
    const row = JTI.test(jti) ? await stores.tokens.findByJti(jti) : undefined;
    if (!row || row.mailboxId !== mailbox.id) throw new NotFound('token not found', 'token_not_found');
    // the stored jti (as for API keys: the revocation event must carry what streams and waits compare with)
    if (await stores.tokens.revoke(mailbox.id, row.jti)) {
      deps.log.info({ event: 'token.revoked', mailboxId: mailbox.id, jti: row.jti });
      // open WS/SSE streams authenticated with this token close on this event
      await publishSafely(deps.publisher, { type: 'token_revoked', mailboxId: mailbox.id, jti: row.jti }, deps.log);
    }
    ctx.status = 204;
  });

  return router;
}
