import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `mw_<8 hex>_<43 base64url>`. The first part (`mw_<8 hex>`) is the visible prefix,
 * stored in clear to find the row; the whole key is stored only as sha256(salt || key) with a per-key salt.
 */
export const API_KEY_PATTERN = /^mw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/;

export interface GeneratedKey {
  key: string;
  prefix: string;
  salt: Buffer;
  hash: Buffer;
}

export const hashApiKey = (salt: Buffer, key: string) => createHash('sha256').update(salt).update(key).digest();

/** `random` is the source of every random byte (tests inject one to produce a chosen prefix). */
export function generateApiKey(random: (size: number) => Buffer = randomBytes): GeneratedKey {
  const prefix = `mw_${random(4).toString('hex')}`;
  const key = `${prefix}_${random(32).toString('base64url')}`;
  const salt = random(16);
  return { key, prefix, salt, hash: hashApiKey(salt, key) };
}

export const apiKeyPrefix = (key: string) => key.slice(0, 11);

export function apiKeyMatches(key: string, salt: Buffer, hash: Buffer): boolean {
  const candidate = hashApiKey(salt, key);
  return candidate.length === hash.length && timingSafeEqual(candidate, hash);
}
