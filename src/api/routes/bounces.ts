import type Router from '@koa/router';
import type { Knex } from 'knex';
import { mailboxFor } from '../../access/principal.js';
import type { Config } from '../../core/config.js';
import { BadRequest } from '../../core/errors.js';
import { onlyParams, positiveInt } from '../../core/params.js';
import { toIso } from '../../core/time.js';
import { listBounceReports, type BounceReport } from '../../store/bounces.js';
import type { Stores } from '../../store/index.js';
import { principalOf } from '../auth.js';
import { newRouter } from '../router.js';

export interface BounceRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
}

const CURSOR = /^([0-9]{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The cursor X-Next-Cursor gives: `<received_at in ms>.<report id>` of the last report of the previous page. */
function bounceCursor(value: unknown): { receivedAt: Date; id: string } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = typeof value === 'string' ? CURSOR.exec(value) : null;
  if (!m)
    throw new BadRequest(
      'cursor is not a valid cursor (pass the X-Next-Cursor of the previous page)',
      'invalid_cursor',
    );
  return { receivedAt: new Date(Number(m[1])), id: m[2]! };
}

const presentReport = (r: BounceReport) => ({
  id: r.id,
  outbound_message_id: r.outboundMessageId,
  recipient: r.recipient,
  source: r.source,
  dsn_message_id: r.dsnMessageId,
  action: r.action,
  status: r.status,
  diagnostic: r.diagnostic,
  remote_mta: r.remoteMta,
  class: r.class,
  received_at: toIso(r.receivedAt),
});

/** `GET /api/v1/mailboxes/{address}/bounces` (read): the mailbox's bounce reports, newest first, paged by cursor. */
export function bounceRoutes(deps: BounceRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address/bounces');
  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['limit', 'cursor']);
    const mailbox = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read', { connected: true });
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
    const items = await listBounceReports(deps.db, mailbox.id, { limit, before: bounceCursor(ctx.query.cursor) });
    if (items.length === limit) {
      const last = items[items.length - 1]!;
      const next = `${last.receivedAt.getTime()}.${last.id}`;
      ctx.set('X-Next-Cursor', next);
      ctx.set(
        'Link',
        `</api/v1/mailboxes/${encodeURIComponent(mailbox.address)}/bounces?limit=${limit}&cursor=${next}>; rel="next"`,
      );
    }
    ctx.body = items.map(presentReport);
  });
  return router;
}
