import type { RedisClient } from '../core/redis.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../core/log.js';

export interface Budget {
  points: number;
  windowS: number;
}

/** What one consumption says; `allowed` is also true when Redis could not be asked (fail open). */
export interface Decision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** seconds until the window resets */
  resetS: number;
  /** false when the store did not answer and the request was let through */
  counted: boolean;
}

export interface Limiter {
  readonly name: string;
  consume(key: string): Promise<Decision>;
}

export interface LimiterDeps {
  redis: RedisClient;
  prefix: string;
  timeoutMs: number;
  log: Logger;
}

const WARN_EVERY_MS = 30_000;

/**
 * A fixed-window counter in Redis (rate-limiter-flexible). If Redis errors or does not answer within
 * `timeoutMs`, the request is ALLOWED (fail open) and a warning is logged at most every 30 s per limiter:
 * an outage of the limiter's store must not take the API or the SMTP ingress down with it.
 */
export function createLimiter(deps: LimiterDeps, name: string, budget: Budget): Limiter {
  const store = new RateLimiterRedis({
    storeClient: deps.redis,
    keyPrefix: `${deps.prefix}:rl:${name}`,
    points: budget.points,
    duration: budget.windowS,
    rejectIfRedisNotReady: true,
  });
  let lastWarn = 0;
  const failOpen = (err: unknown): Decision => {
    if (Date.now() - lastWarn >= WARN_EVERY_MS) {
      lastWarn = Date.now();
      deps.log.warn({
        event: 'ratelimit.unavailable',
        limiter: name,
        err: err instanceof Error ? err.message : String(err),
        policy: 'fail_open',
      });
    }
    return { allowed: true, limit: budget.points, remaining: budget.points, resetS: budget.windowS, counted: false };
  };
  const decision = (res: RateLimiterRes, allowed: boolean): Decision => ({
    allowed,
    limit: budget.points,
    remaining: Math.max(0, res.remainingPoints),
    resetS: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    counted: true,
  });
  return {
    name,
    async consume(key) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deps.timeoutMs} ms`)), deps.timeoutMs);
      });
      try {
        const res = await Promise.race([store.consume(key), timeout]);
        return decision(res, true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return decision(err, false);
        return failOpen(err);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The decision to advertise: a refusal wins; otherwise the budget closest to running out. */
export function tightest(decisions: Decision[]): Decision | undefined {
  const refused = decisions.filter((d) => !d.allowed).sort((a, b) => b.resetS - a.resetS)[0];
  if (refused) return refused;
  return [...decisions].sort((a, b) => a.remaining / a.limit - b.remaining / b.limit || a.remaining - b.remaining)[0];
}

/** IETF draft RateLimit-* fields (delta-seconds reset) plus Retry-After on a refusal. */
export function rateLimitHeaders(d: Decision): Record<string, string> {
  const h: Record<string, string> = {
    'RateLimit-Limit': String(d.limit),
    'RateLimit-Remaining': String(d.remaining),
    'RateLimit-Reset': String(d.resetS),
  };
  if (!d.allowed) h['Retry-After'] = String(d.resetS);
  return h;
}
