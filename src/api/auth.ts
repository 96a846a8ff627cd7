import type { Context, Middleware } from 'koa';
import { authenticate, bearerOf, type AuthDeps, type Principal } from '../access/principal.js';

/**
 * The Koa side of the access layer (src/access/principal.ts): authenticate every request once and keep its
 * principal in `ctx.state.principal`. Routes load mailboxes with `mailboxFor(principalOf(ctx), ...)`.
 */
export const authentication =
  (deps: AuthDeps): Middleware =>
  async (ctx, next) => {
    ctx.state.principal = await authenticate(bearerOf(ctx), deps);
    if (ctx.state.principal.kind === 'token')
      void deps.stores.tokens.touch(ctx.state.principal.jti).catch(() => undefined);
    await next();
  };

/** The principal `authentication` resolved for this request. */
export const principalOf = (ctx: Context): Principal => ctx.state.principal;
