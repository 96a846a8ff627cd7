import type { Context, Middleware } from 'koa';
import type { Redis } from 'ioredis';
import { createLimiter, rateLimitHeaders, tightest, type Decision, type Limiter } from '../access/rate-limit.js';
import type { Config } from '../core/config.js';
import { TooManyRequests } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { principalOf } from './auth.js';

export interface RateLimitDeps { config: Config; redis: Redis; log: Logger }

/**
 * The client address: with N trusted proxy hops, the Nth X-Forwarded-For entry from the right (the one
 * our own proxy appended; entries to its left are client-controlled); with 0 hops, the socket address.
 */
export function clientIp(ctx: Pick<Context, 'get' | 'socket'>, hops: number): string {
  const socketIp = ctx.socket.remoteAddress ?? 'unknown';
  if (hops <= 0) return socketIp;
  const chain = ctx.get('x-forwarded-for').split(',').map((s) => s.trim()).filter(Boolean);
  return chain[chain.length - hops] ?? socketIp;
}

const isCreate = (ctx: Context) => ctx.method === 'POST' && /^\/api\/v1\/mailboxes\/?$/.test(ctx.path);
const isApi = (ctx: Context) => ctx.path.startsWith('/api/');

export interface ApiRateLimits {
  /** before authentication: every API request, per client IP (failed logins count too) */
  byIp: Middleware;
  /** after authentication: per API key / token, and anonymous mailbox creation per IP */
  byPrincipal: Middleware;
}

export function apiRateLimits(deps: RateLimitDeps): ApiRateLimits {
  const rl = deps.config.rateLimit;
  const base = { redis: deps.redis, prefix: deps.config.redis.prefix, timeoutMs: rl.timeoutMs, log: deps.log };
  const ip = createLimiter(base, 'ip', rl.ip);
  const credential = createLimiter(base, 'credential', rl.credential);
  const createIp = createLimiter(base, 'create-ip', rl.createIp);
  const createCredential = createLimiter(base, 'create-credential', rl.createCredential);

  /** Record a decision, advertise the tightest budget so far, refuse with 429 when over. */
  const apply = async (ctx: Context, limiter: Limiter, key: string) => {
    const d = await limiter.consume(key);
    const seen: Decision[] = (ctx.state.rateLimits ??= []);
    seen.push(d);
    const headers = rateLimitHeaders(tightest(seen)!);
    for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
    if (!d.allowed) {
      deps.log.info({ event: 'ratelimit.refused', limiter: limiter.name, requestId: ctx.state.requestId });
      throw new TooManyRequests(`rate limit reached (${limiter.name}); retry after ${d.resetS} s`, headers);
    }
  };

  if (!rl.enabled) {
    const pass: Middleware = (_ctx, next) => next();
    return { byIp: pass, byPrincipal: pass };
  }
  return {
    byIp: async (ctx, next) => {
      if (isApi(ctx)) await apply(ctx, ip, clientIp(ctx, rl.trustedProxyHops));
      await next();
    },
    byPrincipal: async (ctx, next) => {
      if (isApi(ctx)) {
        const p = principalOf(ctx);
        const create = isCreate(ctx);
        if (p.kind === 'anonymous') {
          if (create) await apply(ctx, createIp, clientIp(ctx, rl.trustedProxyHops));
        } else {
          const id = p.kind === 'user' ? `key:${p.apiKeyId}` : `token:${p.jti}`;
          await apply(ctx, create ? createCredential : credential, id);
        }
      }
      await next();
    },
  };
}
