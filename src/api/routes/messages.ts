import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Config } from '../../core/config.js';
import { NotFound } from '../../core/errors.js';
import { extractAttachment } from '../../pipeline/parse.js';
import { createStores, type Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import { attachmentContentType, contentDisposition } from '../attachment-headers.js';
import { mailboxFor } from '../auth.js';
import { cursorParam, onlyParams, positiveInt } from '../params.js';
import { presentMessage, presentSummary } from '../present.js';

export interface MessageRouteDeps { config: Config; db: Knex; stores: Stores; plans: PlanStore }

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Message ids are ULIDs; anything else cannot exist (404 without a query). */
const messageId = (id: string) => {
  if (!ID.test(id)) throw new NotFound('message not found', 'message_not_found');
  return id;
};

export function messageRoutes(deps: MessageRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1/mailboxes/:address/messages' });
  const { stores } = deps;

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['limit', 'cursor', 'unread']);
    const mailbox = await mailboxFor(ctx, stores, ctx.params.address, 'read');
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
    const beforeSeq = cursorParam(ctx.query.cursor);
    const items = await stores.messages.list(mailbox.id, { limit, beforeSeq, unreadOnly: ctx.query.unread === 'true' });
    if (items.length === limit) {
      const next = String(items[items.length - 1]!.seq);
      ctx.set('X-Next-Cursor', next);
      ctx.set('Link', `<${ctx.path}?limit=${limit}&cursor=${next}>; rel="next"`);
    }
    ctx.body = items.map(presentSummary);
  });

  router.get('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(ctx, stores, ctx.params.address, 'read');
    const id = messageId(ctx.params.id);
    const m = await stores.messages.get(mailbox.id, id);
    if (!m) throw new NotFound('message not found', 'message_not_found');
    if (!m.isRead) await stores.messages.markRead(mailbox.id, id);
    ctx.body = presentMessage({ ...m, isRead: true }, mailbox);
  });

  router.get('/:id/raw', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(ctx, stores, ctx.params.address, 'read');
    const raw = await stores.messages.getRaw(mailbox.id, messageId(ctx.params.id));
    if (!raw) throw new NotFound('message not found', 'message_not_found');
    ctx.type = 'message/rfc822';
    ctx.body = raw;
  });

  router.get('/:id/attachments/:n', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(ctx, stores, ctx.params.address, 'read');
    const raw = await stores.messages.getRaw(mailbox.id, messageId(ctx.params.id));
    if (!raw) throw new NotFound('message not found', 'message_not_found');
    const n = /^[0-9]{1,4}$/.test(ctx.params.n) ? Number(ctx.params.n) : -1;
    const a = n >= 0 ? await extractAttachment(raw, n) : undefined;
    if (!a) throw new NotFound('attachment not found', 'attachment_not_found');
    ctx.type = attachmentContentType(a.contentType);
    ctx.set('Content-Disposition', contentDisposition(a.filename, deps.config.api.attachmentFilenameMaxChars));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = a.content;
  });

  router.delete('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(ctx, stores, ctx.params.address, 'manage');
    const id = messageId(ctx.params.id);
    const deleted = await deps.db.transaction(async (trx) => {
      const tx = createStores(trx, { plans: deps.plans });
      const size = await tx.messages.delete(mailbox.id, id);
      if (size !== undefined) await tx.mailboxes.release(mailbox.id, size);
      return size !== undefined;
    });
    if (!deleted) throw new NotFound('message not found', 'message_not_found');
    ctx.status = 204;
  });

  return router;
}
