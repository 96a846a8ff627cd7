import type Router from '@koa/router';
import type { Knex } from 'knex';
import { mailboxFor, type AuthDeps, type Principal } from '../../access/principal.js';
import type { Config } from '../../core/config.js';
import type { KeyRing } from '../../core/secret-box.js';
import { searchMessages } from '../../store/message-search.js';
import { mailboxEnded } from '../../store/mailboxes.js';
import type { StreamPrincipal } from '../../stream/credential.js';
import type { StreamDeps } from '../../stream/session.js';
import { viewerPage, viewerScript } from '../../stream/viewer-page.js';
import { waitForMatch } from '../../stream/wait.js';
import { isWaitRequest, parseWaitRequest } from '../../stream/wait-filter.js';
import { principalOf } from '../auth.js';
import { presentSummary } from '../present.js';
import { newRouter } from '../router.js';
import { connectedOf } from './connected-reads.js';
import { connectedWait } from './connected-wait.js';

export type WaitRouteDeps = StreamDeps &
  AuthDeps & {
    db: Knex;
    config: Config;
    /** opens connected mailboxes' passwords (their wait searches IMAP) */
    credentials?: KeyRing;
  };

/**
 * The blocking wait on the message list (only when `wait` or a filter is given; the plain
 * list falls through to the messages router), and a tiny live viewer page that uses EventSource.
 */
const waiter = (p: Principal): StreamPrincipal | undefined => (p.kind === 'anonymous' ? undefined : p);

export function waitRoutes(deps: WaitRouteDeps): Router {
  const router = newRouter();
  const { wait } = deps.config;

  router.get('/api/v1/mailboxes/:address/messages', async (ctx, next) => {
    if (!isWaitRequest(ctx.query)) {
      await next();
      return;
    }
    // the caller's own connected mailbox at this address: its INBOX over IMAP (connected-wait.ts)
    const connected = await connectedOf(ctx, deps, 'read');
    const req = connected
      ? undefined
      : parseWaitRequest(ctx.query, {
          maxSeconds: wait.maxSeconds,
          filterMaxLength: wait.filterMaxLength,
          pageMax: deps.config.api.messagePageMax,
        });
    const mailbox = connected ?? (await mailboxFor(principalOf(ctx), deps.stores, ctx.params.address, 'read'));
    const aborted = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableEnded) aborted.abort();
    };
    ctx.res.once('close', onClose);
    // a client that left while the credential and the mailbox were looked up: 'close' has fired already (the
    // wait would have held its listener and its Redis channel for its whole time, then the linger)
    if (ctx.req.socket.destroyed || ctx.res.destroyed) aborted.abort();
    if (!req || req.waitSeconds > 0) ctx.req.socket.setTimeout(0);
    try {
      if (!req) return await connectedWait(ctx, deps, mailbox, waiter(principalOf(ctx)), aborted.signal);
      const items = await waitForMatch({
        hub: deps.hub,
        mailboxId: mailbox.id,
        seconds: req.waitSeconds,
        listenWaitMs: deps.config.streams.subscribeWaitMs,
        signal: aborted.signal,
        principal: waiter(principalOf(ctx)),
        mailboxExpiresAt: mailbox.expiresAt,
        mailboxState: async () => {
          const m = await deps.stores.mailboxes.findById(mailbox.id);
          return { gone: mailboxEnded(m), expiresAt: m?.expiresAt };
        },
        search: () => searchMessages(deps.db, mailbox.id, req.filter, { regexTimeoutMs: wait.regexTimeoutMs }),
      });
      // the highest seq among the matches (the list is in received order; `since` is in commit order)
      if (items.length) ctx.set('X-Cursor', String(Math.max(...items.map((m) => m.seq))));
      ctx.body = items.map(presentSummary);
    } finally {
      ctx.res.off('close', onClose);
    }
  });

  router.get('/streams/viewer', viewerPage);
  router.get('/streams/viewer.js', viewerScript);
  return router;
}
