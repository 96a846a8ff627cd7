import { generateApiKey, type GeneratedKey } from '../core/api-keys.js';
import { Unavailable } from '../core/errors.js';
import type { Db } from './db.js';

/**
 * How many fresh keys `create()` tries when the visible prefix is taken. The prefix has 32 random bits and is
 * UNIQUE, so a collision is expected after some 50-80k keys; five in a row means something else is wrong.
 */
export const API_KEY_CREATE_ATTEMPTS = 5;

export interface ApiKeyRecord {
  id: string;
  userId: string;
  prefix: string;
  salt: Buffer;
  keyHash: Buffer;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toRecord = (r: any): ApiKeyRecord => ({
  id: r.id,
  userId: r.user_id,
  prefix: r.prefix,
  salt: r.salt,
  keyHash: r.key_hash,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export interface ApiKeyStore {
  /**
   * Generate a key and store it: the one way keys are created (POST /api/v1/keys, `npm run cli`). A prefix that is
   * already taken is retried with a fresh key (up to API_KEY_CREATE_ATTEMPTS), then an Unavailable error.
   * `generate` is injectable so tests can force a collision. Inside a transaction a collision does not abort it
   * (`on conflict do nothing`). The clear-text key is returned once and never stored.
   */
  create(
    k: { userId: string; name: string | null },
    generate?: () => GeneratedKey,
  ): Promise<{ record: ApiKeyRecord; key: string; attempts: number }>;
  /** Store an already generated key as is; a taken prefix throws (unique violation). Prefer `create()`. */
  insert(k: {
    userId: string;
    prefix: string;
    salt: Buffer;
    keyHash: Buffer;
    name: string | null;
  }): Promise<ApiKeyRecord>;
  findByPrefix(prefix: string): Promise<ApiKeyRecord | undefined>;
  listByUser(userId: string): Promise<ApiKeyRecord[]>;
  revoke(userId: string, id: string): Promise<boolean>;
  touch(id: string): Promise<void>;
  findForUser(userId: string, id: string): Promise<ApiKeyRecord | undefined>;
  countActive(userId: string): Promise<number>;
}

export function apiKeyStore(db: Db): ApiKeyStore {
  return {
    async create(k, generate = generateApiKey) {
      for (let attempt = 1; attempt <= API_KEY_CREATE_ATTEMPTS; attempt++) {
        const g = generate();
        const [row] = await db('api_keys')
          .insert({ user_id: k.userId, prefix: g.prefix, salt: g.salt, key_hash: g.hash, name: k.name })
          .onConflict('prefix')
          .ignore()
          .returning('*');
        if (row) return { record: toRecord(row), key: g.key, attempts: attempt };
      }
      throw new Unavailable(
        `could not create an API key: ${API_KEY_CREATE_ATTEMPTS} generated prefixes in a row were already taken`,
      );
    },
    async insert(k) {
      const [row] = await db('api_keys')
        .insert({ user_id: k.userId, prefix: k.prefix, salt: k.salt, key_hash: k.keyHash, name: k.name })
        .returning('*');
      return toRecord(row);
    },
    async findByPrefix(prefix) {
      const row = await db('api_keys').where({ prefix }).first();
      return row ? toRecord(row) : undefined;
    },
    async listByUser(userId) {
      return (await db('api_keys').where({ user_id: userId }).orderBy('created_at', 'desc')).map(toRecord);
    },
    async revoke(userId, id) {
      const n = await db('api_keys')
        .where({ user_id: userId, id })
        .whereNull('revoked_at')
        .update({ revoked_at: db.fn.now() });
      return n === 1;
    },
    async touch(id) {
      // at most one write a minute per key
      await db('api_keys')
        .where({ id })
        .andWhere(
          (w) => void w.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw(`now() - interval '1 minute'`)),
        )
        .update({ last_used_at: db.fn.now() });
    },
    async findForUser(userId, id) {
      const row = await db('api_keys').where({ user_id: userId, id }).first();
      return row ? toRecord(row) : undefined;
    },
    async countActive(userId) {
      const [row] = await db('api_keys')
        .where({ user_id: userId })
        .whereNull('revoked_at')
        .count<{ n: string }[]>({ n: '*' });
      return Number(row?.n ?? 0);
    },
  };
}
