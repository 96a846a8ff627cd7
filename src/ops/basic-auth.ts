import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { errorJson } from '../core/error-body.js';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Compare two secrets in constant time whatever their lengths (both are hashed to 32 bytes first). */
export const safeEqual = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** Parse `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** HTTP Basic guard: both user and password are always compared (no early exit on a wrong user). */
export const basicAuth =
  (expected: BasicCredentials, realm: string): Middleware =>
  async (ctx, next) => {
    const given = parseBasic(ctx.get('authorization'));
    const userOk = safeEqual(given?.user ?? '', expected.user);
    const passOk = safeEqual(given?.password ?? '', expected.password);
    if (!given || !userOk || !passOk) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      ctx.body = errorJson('unauthorized', 'admin credentials required', ctx.state.requestId);
      return;
    }
    await next();
  };
