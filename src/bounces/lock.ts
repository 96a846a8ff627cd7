import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../core/redis.js';

/** A held lock: `lost()` once a renewal found it taken or expired; `release()` frees it if still ours. */
export interface HeldLock {
  lost(): boolean;
  release(): Promise<void>;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One poll per mailbox at a time, across worker processes and the CLI: `SET key token NX PX ms`, renewed every
 * third of `ms` while held (a poll longer than the lock keeps it; a killed one frees it after `ms`). Undefined when
 * another holder has it.
 */
export async function acquireLock(redis: RedisClient, key: string, ms: number): Promise<HeldLock | undefined> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ms, 'NX')) !== 'OK') return undefined;
  let lost = false;
  const timer = setInterval(
    () => {
      redis.eval(RENEW, 1, key, token, String(ms)).then(
        (n) => {
          if (n !== 1) lost = true;
        },
        () => undefined, // RedisClient briefly away: the next renewal tries again, the lock lapses after ms at worst
      );
    },
    Math.max(100, Math.floor(ms / 3)),
  );
  timer.unref();
  return {
    lost: () => lost,
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    },
  };
}
