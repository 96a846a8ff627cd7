import type Router from '@koa/router';
import { newRouter } from '../router.js';
import type { Knex } from 'knex';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Config } from '../../core/config.js';
import { NotFound } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { createStores, type Stores } from '../../store/index.js';
import type { PlanStore } from '../../store/plans.js';
import { attachmentContentType, contentDisposition } from '../attachment-headers.js';
import { findAttachment } from '../attachment-download.js';
import { mailboxFor } from '../../access/principal.js';
import { principalOf } from '../auth.js';
import { booleanParam, listCursor, listCursorParam, onlyParams, positiveInt } from '../../core/params.js';
import { presentMessage, presentSummary } from '../present.js';
import { tagParam } from '../../core/tag-param.js';

export interface MessageRouteDeps {
  config: Config;
  db: Knex;
  stores: Stores;
  plans: PlanStore;
  log: Logger;
}

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Message ids are ULIDs; anything else cannot exist (404 without a query). */
const messageId = (id: string) => {
  if (!ID.test(id)) throw new NotFound('message not found', 'message_not_found');
  return id;
};

/**
 * The next page's Link: the same path and every filter of this request (repeated ones too), with the
 * effective limit and the new cursor; URLSearchParams encodes each name and value. The mailbox address is
 * encoded here rather than echoing the request path, which arrives as the client wrote it.
 */
const nextPageLink = (address: string, query: ParsedUrlQuery, limit: number, cursor: string) => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (name === 'cursor' || name === 'limit' || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
  }
  params.set('limit', String(limit));
  params.set('cursor', cursor);
  return `</api/v1/mailboxes/${encodeURIComponent(address)}/messages?${params.toString()}>; rel="next"`;
};

export function messageRoutes(deps: MessageRouteDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address/messages');
  const { stores } = deps;

  router.get('/', async (ctx) => {
    onlyParams(ctx.query, ['limit', 'cursor', 'unread', 'tag']);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'read');
    const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
    const before = listCursorParam(ctx.query.cursor);
    const items = await stores.messages.list(mailbox.id, {
      limit,
      before,
      unreadOnly: booleanParam(ctx.query.unread, 'unread') ?? false,
      tag: tagParam(ctx.query.tag),
    });
    if (items.length === limit) {
      const next = listCursor(items[items.length - 1]!);
      ctx.set('X-Next-Cursor', next);
      ctx.set('Link', nextPageLink(mailbox.address, ctx.query, limit, next));
    }
    ctx.body = items.map(presentSummary);
  });

  router.get('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'read');
    const id = messageId(ctx.params.id);
    const m = await stores.messages.get(mailbox.id, id);
    if (!m) throw new NotFound('message not found', 'message_not_found');
    // the router answers HEAD with this handler too: only a GET (someone reading it) marks it read
    const reads = ctx.method === 'GET';
    if (reads && !m.isRead) await stores.messages.markRead(mailbox.id, id);
    ctx.body = presentMessage({ ...m, isRead: m.isRead || reads }, mailbox);
  });

  router.get('/:id/raw', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'read');
    const raw = await stores.messages.getRaw(mailbox.id, messageId(ctx.params.id));
    if (!raw) throw new NotFound('message not found', 'message_not_found');
    ctx.type = 'message/rfc822';
    ctx.body = raw;
  });

  router.get('/:id/attachments/:n', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'read');
    const id = messageId(ctx.params.id);
    const n = /^[0-9]{1,4}$/.test(ctx.params.n) ? Number(ctx.params.n) : -1;
    const a = await findAttachment(
      { config: deps.config, log: deps.log, messages: stores.messages },
      { mailboxId: mailbox.id, messageId: id, index: n },
    );
    if (a === null) throw new NotFound('message not found', 'message_not_found');
    if (!a) throw new NotFound('attachment not found', 'attachment_not_found');
    ctx.body = a.content;
    // set as a header, not ctx.type: Koa would add "; charset=utf-8" to a text type
    ctx.set('Content-Type', attachmentContentType(a.contentType, a.charset));
    ctx.set('Content-Disposition', contentDisposition(a.filename, deps.config.api.attachmentFilenameMaxChars));
    ctx.set('X-Content-Type-Options', 'nosniff');
  });

  router.delete('/:id', async (ctx) => {
    onlyParams(ctx.query, []);
    const mailbox = await mailboxFor(principalOf(ctx), stores, ctx.params.address, 'manage');
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
