import type { Db } from './db.js';

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
  id: r.id, userId: r.user_id, prefix: r.prefix, salt: r.salt, keyHash: r.key_hash, name: r.name,
  createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
});

export interface ApiKeyStore {
  insert(k: { userId: string; prefix: string; salt: Buffer; keyHash: Buffer; name: string | null }): Promise<ApiKeyRecord>;
  findByPrefix(prefix: string): Promise<ApiKeyRecord | undefined>;
  listByUser(userId: string): Promise<ApiKeyRecord[]>;
  revoke(userId: string, id: string): Promise<boolean>;
  touch(id: string): Promise<void>;
  findForUser(userId: string, id: string): Promise<ApiKeyRecord | undefined>;
  countActive(userId: string): Promise<number>;
}

export function apiKeyStore(db: Db): ApiKeyStore {
  return {
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
      const n = await db('api_keys').where({ user_id: userId, id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
      return n === 1;
    },
    async touch(id) {
      // at most one write a minute per key
      await db('api_keys').where({ id })
        .andWhere((w) => w.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw(`now() - interval '1 minute'`)))
        .update({ last_used_at: db.fn.now() });
    },
    async findForUser(userId, id) {
      const row = await db('api_keys').where({ user_id: userId, id }).first();
      return row ? toRecord(row) : undefined;
    },
    async countActive(userId) {
      const [row] = await db('api_keys').where({ user_id: userId }).whereNull('revoked_at').count<{ n: string }[]>({ n: '*' });
      return Number(row?.n ?? 0);
    },
  };
}
