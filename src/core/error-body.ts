import { ulid } from 'ulid';
import { AppError } from './errors.js';

/** The JSON error shape of every HTTP answer: `{ "error": { "code", "message", "request_id" } }`. */
export interface ErrorJson {
  error: { code: string; message: string; request_id?: string };
}

/** What an edge sends for a failure: the status, extra headers (RateLimit-*, Retry-After) and the JSON body. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorJson;
}

/** The body alone, for answers that are not an error object (a route that does not exist, an unparsable request). */
export const errorJson = (code: string, message: string, requestId?: string): ErrorJson => ({
  error: { code, message, request_id: requestId },
});

const UNAVAILABLE_MESSAGE = 'a dependency is unavailable, retry shortly';
const publicMessage = (status: number) => (status === 503 ? UNAVAILABLE_MESSAGE : 'internal error');

/** A Postgres or Redis outage (refused, reset, timed out, shutting down, out of connections): retry later. */
export function isDependencyOutage(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | null | undefined;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001'].includes(e?.code ?? '') ||
    e?.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|Query read timeout/i.test(
      e?.message ?? '',
    )
  );
}

/**
 * How any failure is answered over HTTP, by every edge (the Koa API, the SSE and WebSocket handlers ahead of
 * Koa): one rule, framework-free.
 * - An AppError keeps its status, code and headers; its message is shown below 500 and replaced by a generic one
 *   from 500 on (internals never leak), unless it was written for the caller (`messageIsPublic`).
 * - A client error raised by the HTTP layer itself (an http-errors 4xx, e.g. a body over the parser's limit) is
 *   a 4xx `invalid_request` (`payload_too_large` for an oversized body).
 * - Anything else is unexpected: 503 `service_unavailable` when it is a dependency outage (retry), otherwise
 *   500 `internal_error`. The caller logs it.
 */
export function errorBody(err: unknown, requestId?: string): ErrorResponse {
  if (err instanceof AppError) {
    return {
      status: err.status,
      headers: err.headers,
      body: errorJson(
        err.code,
        err.status < 500 || err.messageIsPublic ? err.message : publicMessage(err.status),
        requestId,
      ),
    };
  }
  const e = err as { status?: unknown; expose?: boolean; message?: string; type?: string } | null | undefined;
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = e.type === 'entity.too.large' ? 'payload_too_large' : 'invalid_request';
    return {
      status: e.status,
      headers: {},
      body: errorJson(code, e.expose && e.message ? e.message : 'invalid request', requestId),
    };
  }
  if (isDependencyOutage(err))
    return { status: 503, headers: {}, body: errorJson('service_unavailable', UNAVAILABLE_MESSAGE, requestId) };
  return { status: 500, headers: {}, body: errorJson('internal_error', publicMessage(500), requestId) };
}

/** The request id of an answer: the caller's X-Request-Id when it is a plain token of up to 64 characters, else a new ULID. */
export const requestIdOf = (given: unknown): string =>
  typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : ulid();
