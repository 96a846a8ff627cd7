import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Knex } from 'knex';
import { mailboxFor } from '../../access/principal.js';
import { BadRequest, NotFound } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import { onlyParams, positiveInt } from '../../core/params.js';
import type { Stores } from '../../store/index.js';
import { listOutboundEvents } from '../../store/outbound-events.js';
import { getOutbound, listOutbound, type OutboundStatus } from '../../store/outbound.js';
import { principalOf } from '../auth.js';
import { presentOutbound, presentOutboundSummary } from '../present-outbound.js';
import { newRouter } from '../router.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES: OutboundStatus[] = ['queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed'];

/** A page cursor: `<created_at in µs since the epoch>.<base64url of the tie-break key>` of the last item (opaque). */
export const keyCursor = (micros: string, key: string) => `${micros}.${Buffer.from(key).toString('base64url')}`;

/** A cursor of {@link keyCursor}; `valid` checks the decoded key (a UUID, an address). */
export function parseKeyCursor(
  value: unknown,
  valid: (key: string) => boolean,
): { micros: string; key: string } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = typeof value === 'string' ? /^([0-9]{1,18})\.([A-Za-z0-9_-]{1,500})$/.exec(value) : null;
  const key = m ? Buffer.from(m[2]!, 'base64url').toString('utf8') : '';
  if (!m || !valid(key))
    throw new BadRequest(
      'cursor is not a valid cursor (pass the X-Next-Cursor of the previous page)',
      'invalid_cursor',
    );
  return { micros: m[1]!, key };
}

/** The next page's Link: this request's filters with the effective limit and the new cursor. */
export function nextLink(path: string, query: ParsedUrlQuery, limit: number, cursor: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (name === 'cursor' || name === 'limit' || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
  }
  params.set('limit', String(limit));
  params.set('cursor', cursor);
  return `<${path}?${params.toString()}>; rel="next"`;
}

const single = (v: unknown, name: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${name} is given more than once`, `invalid_${name}`);
  return v;
};

export function outboundReadRoutes(deps: { config: Config; db: Knex; stores: Stores }): Router {
  const router = newRouter('/api/v1/mailboxes/:address/outbound');

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['status', 'recipient', 'limit', 'cursor']);
    const mailbox = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read', { connected: true });
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
    const statusText = single(ctx.query.status, 'status');
    const statuses = statusText?.split(',').map((s) => s.trim());
    const bad = statuses?.find((s) => !STATUSES.includes(s as OutboundStatus));
    if (bad !== undefined)
      throw new BadRequest(`status: ${JSON.stringify(bad)} is not one of ${STATUSES.join(', ')}`, 'invalid_status');
    const items = await listOutbound(deps.db, mailbox.id, {
      limit,
      statuses: statuses as OutboundStatus[] | undefined,
      recipient: single(ctx.query.recipient, 'recipient'),
      before: parseKeyCursor(ctx.query.cursor, (k) => UUID.test(k)),
    });
    const last = items[items.length - 1];
    if (items.length === limit && last) {
      const next = keyCursor(last.createdMicros, last.id);
      ctx.set('X-Next-Cursor', next);
      ctx.set(
        'Link',
        nextLink(`/api/v1/mailboxes/${encodeURIComponent(mailbox.address)}/outbound`, ctx.query, limit, next),
      );
    }
    ctx.body = items.map(presentOutboundSummary);
  });

  router.get('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read', { connected: true });
    const id = ctx.params.id.toLowerCase();
    const m = UUID.test(id) ? await getOutbound(deps.db, mailbox.id, id) : undefined;
    if (!m) throw new NotFound('outbound message not found', 'outbound_message_not_found');
    ctx.body = presentOutbound(m, await listOutboundEvents(deps.db, id));
  });
  return router;
}
