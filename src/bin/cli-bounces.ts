import type { Knex } from 'knex';
import pino from 'pino';
import { pollMailbox } from '../bounces/poll.js';
import type { Config } from '../core/config.js';
import { connectRedis } from '../core/redis.js';
import { createMetrics } from '../ops/metrics.js';
import { bounceProcessorDeps } from '../roles/bounce-deps.js';
import { bounceInboxIds } from '../store/bounce-inboxes.js';
import type { Stores } from '../store/index.js';

/**
 * `npm run cli -- bounces:poll-once [--mailbox ADDR]`: the worker's poll, in this process (for cron users; no
 * worker needed), holding the same per-mailbox lock. One JSON line per mailbox on stdout; the `bounce.poll` log
 * lines go to stderr. Exit 0 when every poll ran (or another process was polling it), 1 when one could not.
 */
export async function pollBouncesOnce(
  config: Config,
  db: Knex,
  stores: Stores,
  address: string | undefined,
  usageError: (message: string) => never,
): Promise<number> {
  if (address !== undefined && !/^[^\s@]+@[^\s@]+$/.test(address))
    usageError(`--mailbox "${address}" is not an email address`);
  const inboxes = await bounceInboxIds(db, address);
  if (address !== undefined && inboxes.length === 0)
    usageError(`no active connected mailbox with a bounce inbox at ${address}`);
  const redis = await connectRedis(config, 'producer');
  const log = pino({ level: config.log.level, base: { role: 'cli' } }, pino.destination(2));
  try {
    const deps = bounceProcessorDeps({ config, db, redis, stores, log, metrics: createMetrics('cli') });
    let code = 0;
    for (const { id } of inboxes) {
      const r = await pollMailbox(deps, id);
      console.log(JSON.stringify(r));
      if (r.error) code = 1;
    }
    return code;
  } finally {
    redis.disconnect();
  }
}
