import type { Middleware } from 'koa';
import { errorBody, errorJson } from '../core/error-body.js';
import type { Logger } from '../core/log.js';

/** Where errors become HTTP in the Koa app: `{ "error": { "code", "message", "request_id" } }` (core/error-body.ts). */
export const errorResponses =
  (log: Logger): Middleware =>
  async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) setError(ctx, 404, 'not_found', 'no such route');
        else if (ctx.status === 405) setError(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed here`);
      }
    } catch (err) {
      const { status, headers, body } = errorBody(err, ctx.state.requestId);
      // a 4xx is the client's doing; a 5xx (an AppError such as 503, or an unexpected error) is logged
      if (status >= 500) log.error({ event: 'http.failed', err, path: ctx.path, requestId: ctx.state.requestId });
      for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
      ctx.status = status;
      ctx.body = body;
    }
  };

function setError(ctx: Parameters<Middleware>[0], status: number, code: string, message: string) {
  ctx.status = status;
  ctx.body = errorJson(code, message, ctx.state.requestId);
}
