import type { Context } from 'koa';
import type Router from '@koa/router';
import type { Knex } from 'knex';
import { z } from 'zod';
import { mailboxFor, type Principal } from '../../access/principal.js';
import { BadRequest, NotFound } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import { onlyParams, positiveInt } from '../../core/params.js';
import { parseAddress } from '../../outbound/addresses.js';
import type { Stores } from '../../store/index.js';
import { addSuppression, listSuppressions, removeSuppression } from '../../store/suppressions.js';
import { principalOf } from '../auth.js';
import { expectNoBody, readJson } from '../body.js';
import { presentSuppression } from '../present-outbound.js';
import { newRouter } from '../router.js';
import { keyCursor, nextLink, parseKeyCursor } from './outbound-reads.js';

const AddSuppression = z.strictObject({
  recipient: z.string().min(1),
  reason: z.enum(['manual', 'complaint']).optional(),
  notes: z.string().max(1000).optional(),
});

/** POST needs `send` or `manage`: a token with either may add one. */
const addPermission = (p: Principal) =>
  p.kind === 'token' && !p.permissions.includes('send') && p.permissions.includes('manage') ? 'manage' : 'send';

/** A recipient as given (path or body): one address, as the send API reads it (400 invalid_address). */
const recipientOf = (value: string, field: string) => parseAddress(value, field).address;

/**
 * A mailbox's suppressions: GET (read), POST (send or manage; 201, or 200 with the row already there), DELETE
 * (manage: re-enabling a hard-bounced address is the owner's decision). Recipients compare case-insensitively.
 */
export function suppressionRoutes(deps: { config: Config; db: Knex; stores: Stores }): Router {
  const router = newRouter('/api/v1/mailboxes/:address/suppressions');
  const load = (ctx: Context, permission: 'read' | 'send' | 'manage') =>
    mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, permission, { connected: true });

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['recipient', 'limit', 'cursor']);
    const mailbox = await load(ctx, 'read');
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
    const recipient = ctx.query.recipient;
    if (recipient !== undefined && typeof recipient !== 'string')
      throw new BadRequest('recipient is given more than once', 'invalid_recipient');
    const items = await listSuppressions(deps.db, mailbox.id, {
      limit,
      recipient: recipient === undefined ? undefined : recipientOf(recipient, 'recipient'),
      before: parseKeyCursor(ctx.query.cursor, (k) => k.includes('@')),
    });
    const last = items[items.length - 1];
    if (items.length === limit && last) {
      const next = keyCursor(last.createdMicros, last.recipient);
      ctx.set('X-Next-Cursor', next);
      ctx.set(
        'Link',
        nextLink(`/api/v1/mailboxes/${encodeURIComponent(mailbox.address)}/suppressions`, ctx.query, limit, next),
      );
    }
    ctx.body = items.map(presentSuppression);
  });

  router.post('/', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await load(ctx, addPermission(principalOf(ctx)));
    const body = await readJson(ctx, AddSuppression);
    const { suppression, created } = await addSuppression(deps.db, {
      mailboxId: mailbox.id,
      recipient: recipientOf(body.recipient, 'recipient'),
      reason: body.reason ?? 'manual',
      notes: body.notes ?? null,
    });
    ctx.status = created ? 201 : 200;
    ctx.body = presentSuppression(suppression);
  });

  router.delete('/:recipient', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await load(ctx, 'manage');
    await expectNoBody(ctx);
    if (!(await removeSuppression(deps.db, mailbox.id, recipientOf(ctx.params.recipient, 'recipient'))))
      throw new NotFound('no suppression for this recipient', 'suppression_not_found');
    ctx.status = 204;
  });
  return router;
}
