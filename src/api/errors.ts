import type { Middleware } from 'koa';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** The only place errors become HTTP: `{ "error": { "code", "message", "request_id" } }`. */
export const errorResponses = (log: Logger): Middleware => async (ctx, next) => {
  try {
    await next();
    if (ctx.body === undefined || ctx.body === null) {
      if (ctx.status === 404) setError(ctx, 404, 'not_found', 'no such route');
      else if (ctx.status === 405) setError(ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed here`);
    }
  } catch (err) {
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      setError(ctx, err.status, err.code, err.status < 500 ? err.message : publicMessage(err.status));
      if (err.status >= 500) log.error({ event: 'http.failed', err, path: ctx.path, requestId: ctx.state.requestId });
      return;
    }
    const e = err as { status?: number; expose?: boolean; message?: string; type?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      setError(ctx, e.status, e.type === 'entity.too.large' ? 'payload_too_large' : 'invalid_request', e.expose && e.message ? e.message : 'invalid request');
      return;
    }
    log.error({ event: 'http.failed', err, path: ctx.path, requestId: ctx.state.requestId });
    setError(ctx, isUnavailable(err) ? 503 : 500, isUnavailable(err) ? 'service_unavailable' : 'internal_error', publicMessage(isUnavailable(err) ? 503 : 500));
  }
};

/** Database and Redis outages surface as 503 (retry), not 500. */
const isUnavailable = (err: unknown) => {
  const e = err as { code?: string; name?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001'].includes(e.code ?? '') ||
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|Query read timeout/i.test(e.message ?? '')
  );
};

const publicMessage = (status: number) => (status === 503 ? 'a dependency is unavailable, retry shortly' : 'internal error');

function setError(ctx: Parameters<Middleware>[0], status: number, code: string, message: string) {
  ctx.status = status;
  ctx.body = { error: { code, message, request_id: ctx.state.requestId } };
}
