import type { SMTPServerSession } from 'smtp-server';
import { createLimiter, type LimiterDeps } from '../../access/rate-limit.js';
import type { Config } from '../../core/config.js';
import { TooManyRequests } from '../../core/errors.js';

/**
 * SmtpIngressDeps.onConnect hook: new SMTP connections per client IP per window. Over the budget the
 * client gets `421 4.7.0` and the connection is closed; if Redis cannot be asked, the connection is
 * allowed (fail open, logged by the limiter).
 */
export function smtpConnectionLimit(config: Config, deps: Omit<LimiterDeps, 'prefix' | 'timeoutMs'>) {
  const limiter = createLimiter(
    { ...deps, prefix: config.redis.prefix, timeoutMs: config.rateLimit.timeoutMs },
    'smtp-connect',
    config.rateLimit.smtpConnections,
  );
  return async (session: SMTPServerSession): Promise<void> => {
    if (!config.rateLimit.enabled) return;
    const d = await limiter.consume(session.remoteAddress || 'unknown');
    if (!d.allowed)
      throw new TooManyRequests(`too many SMTP connections from ${session.remoteAddress}; retry after ${d.resetS} s`);
  };
}
