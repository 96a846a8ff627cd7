import { resolveBounceSecrets, resolveCredentialsRing } from '../access/secret.js';
import type { PollDeps } from '../bounces/poll.js';
import { openImapSession } from '../connected/session.js';
import { bounceMetrics } from '../ops/bounce-metrics.js';
import type { RoleDeps } from './deps.js';

/**
 * What the bounce processor and poll need (issue 21), from a role's dependencies: the VERP secrets, the metrics,
 * and the bounce inbox's IMAP session from connected/ (bounces/ and connected/ meet only here). The CLI uses the
 * same function (bin/cli.ts), so `bounces:poll-once` runs exactly the worker's code.
 */
export function bounceProcessorDeps(
  deps: Pick<RoleDeps, 'config' | 'log' | 'db' | 'redis' | 'stores' | 'metrics'> & Partial<Pick<RoleDeps, 'queues'>>,
): PollDeps {
  const credentials = resolveCredentialsRing(deps.config);
  const log = deps.log.child({ component: 'bounces' });
  return {
    db: deps.db,
    config: deps.config,
    redis: deps.redis,
    log,
    metrics: bounceMetrics(deps.metrics.registry),
    secrets: resolveBounceSecrets(deps.config),
    maxAgeDays: deps.config.bounces.maxAgeDays,
    ...(deps.queues
      ? { webhooks: { queue: deps.queues.webhooks, log, enqueueTimeoutMs: deps.config.redis.enqueueTimeoutMs } }
      : {}),
    findMailbox: (id) => deps.stores.mailboxes.findById(id),
    openSession: (m) => openImapSession({ db: deps.db, config: deps.config, credentials }, m, 'bounce_imap'),
  };
}
