import type { RedisClient } from '../core/redis.js';

/** 'aof' when Redis logs every write (what the 250 promise needs), 'rdb-only', 'none' or 'unknown'. */
export async function redisPersistence(redis: RedisClient): Promise<'aof' | 'rdb-only' | 'none' | 'unknown'> {
  try {
    const info = await redis.info('persistence');
    const aof = /aof_enabled:(\d)/.exec(info)?.[1];
    if (aof === '1') return 'aof';
    const save = await redis.config('GET', 'save');
    return save[1] ? 'rdb-only' : 'none';
  } catch {
    return 'unknown';
  }
}
