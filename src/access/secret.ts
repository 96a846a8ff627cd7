import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Config } from '../core/config.js';

export const LOCAL_SECRET_FILE = '.data/token-secret';

/**
 * The token signing secret: TOKEN_SECRET when set. Outside production, a random secret is created once
 * in `.data/token-secret` (mode 0600) so a single machine needs no configuration and tokens survive a
 * restart. In production TOKEN_SECRET is required (all web processes must share it).
 */
export function resolveTokenSecret(config: Config, file = LOCAL_SECRET_FILE): string {
  if (config.tokenSecret) return config.tokenSecret;
  if (config.env === 'production') throw new ConfigError('invalid configuration:\n  TOKEN_SECRET: must be set in production (32+ characters, the same on every web process)');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch { /* create it */ }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

