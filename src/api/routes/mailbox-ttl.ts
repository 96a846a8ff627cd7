import type Router from '@koa/router';
import { newRouter } from '../router.js';
import { z } from 'zod';
import { BadRequest } from '../../core/errors.js';
import { toIso } from '../../core/time.js';
import { changeTtl, type ChangeTtlDeps } from '../../mailboxes/change-ttl.js';
import type { Stores } from '../../store/index.js';
import { mailboxFor } from '../../access/principal.js';
import { principalOf } from '../auth.js';
import { jsonPositiveInt, mergeParams, parseBody, readJsonValue } from '../body.js';
import { onlyParams, positiveInt } from '../../core/params.js';
import { presentMailbox } from '../present.js';
import { ttlNotApplicable, updateConnected, wantsAccountPatch, type ConnectedUpdateDeps } from './connected-update.js';

const ChangeTtl = z.strictObject({ ttl_minutes: jsonPositiveInt.optional() });

export type MailboxTtlRouteDeps = ChangeTtlDeps & ConnectedUpdateDeps & { stores: Stores };

/**
 * PATCH /api/v1/mailboxes/:address?ttl_minutes=N, or with the JSON body {"ttl_minutes": N} (needs 'manage'):
 * change the TTL within the plan cap. A body with `imap` or `smtp` changes a connected mailbox's accounts
 * (connected-update.ts); `ttl_minutes` on a connected mailbox is a 400 ttl_not_applicable.
 */
export function mailboxTtlRoutes(deps: MailboxTtlRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes');

  router.patch('/:address', async (ctx) => {
    // the body decides which change this is; a bad body is reported after the query's own checks, as before
    const read = await readJsonValue(ctx).then(
      (body) => ({ body }),
      (error: unknown) => ({ error }),
    );
    if ('body' in read && wantsAccountPatch(read.body)) return updateConnected(ctx, deps, read.body);
    onlyParams(ctx.query, ['ttl_minutes']);
    const fromQuery = positiveInt(ctx.query.ttl_minutes, 'ttl_minutes');
    if ('error' in read) throw read.error;
    const params = mergeParams({ ttl_minutes: fromQuery }, parseBody(read.body, ChangeTtl));
    const ttlMinutes = params.ttl_minutes;
    if (ttlMinutes === undefined)
      throw new BadRequest('ttl_minutes is required (query parameter or JSON body)', 'invalid_ttl_minutes');
    const m = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'manage', { connected: true });
    if (m.kind === 'connected') throw ttlNotApplicable();
    const changed = await changeTtl(deps, m, ttlMinutes);
    const after = (await deps.stores.mailboxes.findById(m.id)) ?? m;
    ctx.body = { ...presentMailbox(after), expires_at: toIso(changed.expiresAt), ttl_minutes: changed.ttlMinutes };
  });

  return router;
}
