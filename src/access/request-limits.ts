import type { Context, Middleware } from 'koa';
import type { RedisClient } from '../core/redis.js';
import { createLimiter, rateLimitHeaders, tightest, type Budget, type Decision, type Limiter } from './rate-limit.js';
import type { Config } from '../core/config.js';
import { TooManyRequests } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { PlanStore } from '../store/plans.js';
import { anonymousCreateAdvice } from './create-budget.js';
import type { Principal } from './principal.js';

/** The principal the API's authentication middleware put on the context (src/api/auth.ts). */
const principalOf = (ctx: Context): Principal => ctx.state.principal;

export interface RateLimitDeps {
  config: Config;
  redis: RedisClient;
  log: Logger;
}

/**
 * The client address: with N trusted proxy hops, the Nth X-Forwarded-For entry from the right (the one
 * our own proxy appended; entries to its left are client-controlled); with 0 hops, the socket address.
 */
/** What clientIp reads: a Koa context, or the raw request parts of a stream connect. */
export interface ClientRequest {
  get(name: string): string;
  socket: { remoteAddress?: string };
}

export function clientIp(ctx: ClientRequest, hops: number): string {
  const socketIp = ctx.socket.remoteAddress ?? 'unknown';
  if (hops <= 0) return socketIp;
  const chain = ctx
    .get('x-forwarded-for')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return chain[chain.length - hops] ?? socketIp;
}

// case-insensitive although routes are not (src/api/router.ts): a request spelled `/API/…` is counted too
const isCreate = (ctx: Context) => ctx.method === 'POST' && /^\/api\/v1\/mailboxes\/?$/i.test(ctx.path);
const isApi = (ctx: Context) => /^\/api\//i.test(ctx.path);

export interface ApiRateLimits {
  /** before authentication: every API request, per client IP (failed logins count too) */
  byIp: Middleware;
  /** after authentication: per API key / token, and anonymous mailbox creation per IP */
  byPrincipal: Middleware;
}

/** The budgets of config.rateLimit, as limiters (their counters live in Redis, shared by every process). */
function budgets(deps: RateLimitDeps) {
  const rl = deps.config.rateLimit;
  const base = { redis: deps.redis, prefix: deps.config.redis.prefix, timeoutMs: rl.timeoutMs, log: deps.log };
  return {
    base,
    ip: createLimiter(base, 'ip', rl.ip),
    credential: createLimiter(base, 'credential', rl.credential),
  };
}

/**
 * Mailbox creation budgets come from the plan row (`create_budget_*`; the `anonymous` plan's is per client IP),
 * unless the operator set RATE_LIMIT_CREATE_IP_* / RATE_LIMIT_CREATE_CREDENTIAL_*, which then replace the row's
 * value. One limiter per distinct budget, all on the same counter keys: a plan changed in its row (a lowered
 * budget) applies to the counts already made in the current window.
 */
function creationBudgets(deps: RateLimitDeps & { plans: PlanStore }, base: ReturnType<typeof budgets>['base']) {
  const rl = deps.config.rateLimit;
  const limiters = new Map<string, Limiter>();
  const limiter = (name: 'create-ip' | 'create-credential', b: Budget) => {
    const id = `${name}/${b.points}/${b.windowS}`;
    let l = limiters.get(id);
    if (!l) limiters.set(id, (l = createLimiter(base, name, b)));
    return l;
  };
  return async (planId: string): Promise<{ limiter: Limiter; budget: Budget } | undefined> => {
    const plan = await deps.plans.get(planId);
    if (!plan) return undefined; // creation itself answers 503 (plan missing: run the release step)
    const anonymous = planId === 'anonymous';
    const over = anonymous ? rl.createIp : rl.createCredential;
    const budget = {
      points: over.points ?? plan.createBudget.points,
      windowS: over.windowS ?? plan.createBudget.windowS,
    };
    return { limiter: limiter(anonymous ? 'create-ip' : 'create-credential', budget), budget };
  };
}

/** The counter key of an authenticated caller: one budget per API key or per mailbox token. */
const credentialKey = (p: Exclude<Principal, { kind: 'anonymous' }>) =>
  p.kind === 'user' ? `key:${p.apiKeyId}` : `token:${p.jti}`;

export function apiRateLimits(deps: RateLimitDeps & { plans: PlanStore }): ApiRateLimits {
  const rl = deps.config.rateLimit;
  const { base, ip, credential } = budgets(deps);
  const creation = creationBudgets(deps, base);

  /** Record a decision, advertise the tightest budget so far, refuse with 429 when over. */
  const apply = async (ctx: Context, limiter: Limiter, key: string, advice = '') => {
    const d = await limiter.consume(key);
    const seen: Decision[] = (ctx.state.rateLimits ??= []);
    seen.push(d);
    const headers = rateLimitHeaders(tightest(seen)!);
    for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
    if (!d.allowed) {
      deps.log.info({ event: 'ratelimit.refused', limiter: limiter.name, requestId: ctx.state.requestId });
      throw new TooManyRequests(`rate limit reached (${limiter.name}); retry after ${d.resetS} s${advice}`, headers);
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
        // a mailbox token cannot create (403 from the route): its requests count as any other of the token
        const create =
          isCreate(ctx) && p.kind !== 'token' ? await creation(p.kind === 'user' ? p.planId : 'anonymous') : undefined;
        if (p.kind === 'anonymous') {
          if (create)
            await apply(ctx, create.limiter, clientIp(ctx, rl.trustedProxyHops), anonymousCreateAdvice(create.budget));
        } else {
          await apply(ctx, create?.limiter ?? credential, credentialKey(p));
        }
      }
      await next();
    },
  };
}

/**
 * The same budgets for SSE and WebSocket connects, which are served ahead of Koa: a connect counts
 * against the client IP's budget before authentication and against the credential's after it, exactly
 * like a REST request (same limiter keys in Redis, so REST calls and connects share one budget). Each
 * function throws TooManyRequests (429 rate_limited, RateLimit-* and Retry-After headers) when over.
 */
export interface StreamRateLimits {
  ip(req: ClientRequest): Promise<void>;
  principal(p: Principal): Promise<void>;
}

export function streamRateLimits(deps: RateLimitDeps): StreamRateLimits {
  const rl = deps.config.rateLimit;
  if (!rl.enabled) return { ip: async () => {}, principal: async () => {} };
  const { ip, credential } = budgets(deps);
  const apply = async (limiter: Limiter, key: string) => {
    const d = await limiter.consume(key);
    if (d.allowed) return;
    const headers = rateLimitHeaders(d);
    deps.log.info({ event: 'ratelimit.refused', limiter: limiter.name, stream: true });
    throw new TooManyRequests(`rate limit reached (${limiter.name}); retry after ${d.resetS} s`, headers);
  };
  return {
    ip: (req) => apply(ip, clientIp(req, rl.trustedProxyHops)),
    async principal(p) {
      if (p.kind === 'anonymous') return; // refused with 401 by the stream's own check
      await apply(credential, credentialKey(p));
    },
  };
}
