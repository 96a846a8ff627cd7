import type { RedisClient } from '../core/redis.js';

/** Extend the lease only while it is still ours (another worker may hold it after an expiry). */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Give the lease back only if it is still ours. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The Redis lease that makes a connected mailbox's watcher one across all worker processes: `SET key owner NX PX`
 * takes it, a compare-and-extend renews it, a compare-and-delete gives it back. The value is the worker's random
 * owner id, never anything about the account. A worker that dies stops renewing: the lease expires and another
 * worker's next scan takes the mailbox over.
 */
export class WatchLeases {
  constructor(
    private readonly redis: RedisClient,
    /** `<QUEUE_PREFIX>:connected` */
    private readonly keyPrefix: string,
    private readonly owner: string,
    private readonly ms: number,
  ) {}

  private key(mailboxId: string): string {
    return `${this.keyPrefix}:lease:${mailboxId}`;
  }

  /** The last cursor a watcher published for the mailbox (`<uidvalidity>.<uid>`): where its successor goes on. */
  cursorKey(mailboxId: string): string {
    return `${this.keyPrefix}:cursor:${mailboxId}`;
  }

  async take(mailboxId: string): Promise<boolean> {
    return (await this.redis.set(this.key(mailboxId), this.owner, 'PX', this.ms, 'NX')) === 'OK';
  }

  /** True while the lease is still ours (extended by its full length); false once another worker holds it or it expired. */
  async renew(mailboxId: string): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, this.key(mailboxId), this.owner, String(this.ms))) === 1;
  }

  async release(mailboxId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(mailboxId), this.owner);
  }
}
