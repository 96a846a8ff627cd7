import type Router from '@koa/router';
import type { ImapFlow } from 'imapflow';
import type { Context, Next } from 'koa';
import type { Readable } from 'node:stream';
import { checkPermission, connectedMailboxOf, mailboxFor, mailboxGone } from '../../access/principal.js';
import { decodeMessageRef, folderParam, listCursorParam } from '../../connected/message-ref.js';
import { downloadAttachment, listFolders, listMessages, rawMessage, readMessage } from '../../connected/reads.js';
import { deleteMessage } from '../../connected/writes.js';
import { openImapSession, withImap, type BridgeDeps } from '../../connected/session.js';
import { NotFound } from '../../core/errors.js';
import { booleanParam, onlyParams, positiveInt } from '../../core/params.js';
import { mailboxEnded, type Mailbox } from '../../store/mailboxes.js';
import type { Stores } from '../../store/index.js';
import type { Permission } from '../../store/tokens.js';
import { attachmentContentType, contentDisposition } from '../attachment-headers.js';
import { principalOf } from '../auth.js';
import { newRouter } from '../router.js';

/** The one folder of a hosted mailbox, as GET …/folders lists it. */
const HOSTED_INBOX = { path: 'INBOX', name: 'INBOX', delimiter: null, special_use: '\\Inbox' };

export type ConnectedReadDeps = BridgeDeps & { stores: Stores };

/**
 * The caller's own connected mailbox at this address (an API key's user's, or the one a mailbox token was minted
 * for), else undefined (the hosted routes mounted after these answer: a hosted mailbox, a 404, a 410). A token
 * without `permission` is a 403 insufficient_permission, before any connection.
 */
export async function connectedOf(
  ctx: Context,
  deps: Pick<ConnectedReadDeps, 'stores'>,
  permission: Permission,
): Promise<Mailbox | undefined> {
  const p = principalOf(ctx);
  const m = await connectedMailboxOf(p, deps.stores, ctx.params.address);
  if (!m) return undefined;
  checkPermission(p, permission);
  const ended = mailboxEnded(m);
  if (ended) throw mailboxGone(ended);
  return m;
}

/**
 * A route of a connected mailbox: `handler` runs for the caller's own connected mailbox at the address; for any other
 * the request falls through to the hosted routes mounted after these (a hosted mailbox, a 404, a 410).
 */
const whenConnected =
  (deps: ConnectedReadDeps, handler: (ctx: Context, m: Mailbox) => Promise<void>, permission: Permission = 'read') =>
  async (ctx: Context, next: Next): Promise<void> => {
    const m = await connectedOf(ctx, deps, permission);
    if (m) await handler(ctx, m);
    else await next();
  };

/**
 * Answers with a body streamed from IMAP: the session ends (LOGOUT) when the body is done, read to its end or
 * abandoned by the client, or at once when `work` fails.
 */
async function streamFromImap<T extends { body: Readable }>(
  deps: ConnectedReadDeps,
  m: Mailbox,
  work: (client: ImapFlow) => Promise<T>,
): Promise<T> {
  const session = await openImapSession(deps, m);
  try {
    const result = await session.run(work);
    result.body.once('close', () => void session.end());
    return result;
  } catch (err) {
    await session.end();
    throw err;
  }
}

/**
 * Reads of a connected mailbox, straight from its IMAP account through the stateless bridge (src/connected): one
 * IMAP session per request, ended with LOGOUT on every path. Bad input (folder, message id, cursor) is refused
 * before any connection.
 */
export function connectedReadRoutes(deps: ConnectedReadDeps): Router {
  const router = newRouter('/api/v1/mailboxes/:address');
  const readLimits = { headers: deps.config.parse, extract: deps.config.extract };

  router.get('/folders', async (ctx) => {
    onlyParams(ctx.query, []);
    const m = await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read', { connected: true });
    // a hosted mailbox has one folder
    ctx.body = m.kind === 'connected' ? await withImap(deps, m, listFolders) : [HOSTED_INBOX];
  });

  router.get(
    '/messages',
    whenConnected(deps, async (ctx, m) => {
      onlyParams(ctx.query, ['folder', 'limit', 'cursor', 'unread']);
      const unread = booleanParam(ctx.query.unread, 'unread');
      const folder = folderParam(ctx.query.folder);
      const limit = positiveInt(ctx.query.limit, 'limit', { max: deps.config.api.messagePageMax }) ?? 50;
      const cursor = listCursorParam(ctx.query.cursor);
      const page = await withImap(deps, m, (client) => listMessages(client, folder, { limit, cursor, unread }));
      if (page.next) {
        ctx.set('X-Next-Cursor', page.next);
        const q = new URLSearchParams({ folder, limit: String(limit), cursor: page.next });
        if (unread !== undefined) q.set('unread', String(unread));
        ctx.set('Link', `</api/v1/mailboxes/${encodeURIComponent(m.address)}/messages?${q.toString()}>; rel="next"`);
      }
      ctx.body = page.items;
    }),
  );

  router.get(
    '/messages/:id',
    whenConnected(deps, async (ctx, m) => {
      onlyParams(ctx.query, ['peek']);
      const peek = booleanParam(ctx.query.peek, 'peek') ?? false;
      const ref = decodeMessageRef(ctx.params.id);
      // the router answers HEAD with this handler too: only a GET (someone reading it) sets \Seen
      ctx.body = await withImap(deps, m, (client) =>
        readMessage(client, ref, peek || ctx.method !== 'GET', readLimits),
      );
    }),
  );

  router.delete(
    '/messages/:id',
    whenConnected(
      deps,
      async (ctx, m) => {
        onlyParams(ctx.query, []);
        const ref = decodeMessageRef(ctx.params.id);
        await withImap(deps, m, (client) => deleteMessage(client, ref));
        ctx.status = 204;
      },
      'manage',
    ),
  );

  router.get(
    '/messages/:id/raw',
    whenConnected(deps, async (ctx, m) => {
      onlyParams(ctx.query, []);
      const ref = decodeMessageRef(ctx.params.id);
      const { body } = await streamFromImap(deps, m, async (client) => ({ body: await rawMessage(client, ref) }));
      ctx.type = 'message/rfc822';
      ctx.body = body;
    }),
  );

  router.get(
    '/messages/:id/attachments/:n',
    whenConnected(deps, async (ctx, m) => {
      onlyParams(ctx.query, []);
      const ref = decodeMessageRef(ctx.params.id);
      const n = /^[0-9]{1,4}$/.test(ctx.params.n) ? Number(ctx.params.n) : -1;
      if (n < 0) throw new NotFound('attachment not found', 'attachment_not_found');
      const { attachment, body } = await streamFromImap(deps, m, async (client) => {
        const { attachment, content } = await downloadAttachment(client, ref, n);
        return { attachment, body: content };
      });
      ctx.body = body;
      // set as a header, not ctx.type: Koa would add "; charset=utf-8" to a text type
      ctx.set('Content-Type', attachmentContentType(attachment.content_type));
      ctx.set(
        'Content-Disposition',
        contentDisposition(attachment.filename, deps.config.api.attachmentFilenameMaxChars),
      );
      ctx.set('X-Content-Type-Options', 'nosniff');
    }),
  );

  return router;
}
