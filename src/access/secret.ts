import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Config } from '../core/config.js';
import type { Logger } from '../core/log.js';

export const LOCAL_SECRET_FILE = '.data/token-secret';

/**
 * The token signing secret: TOKEN_SECRET when set. Outside production, a random secret is created once
 * in `.data/token-secret` (mode 0600) so a single machine needs no configuration and tokens survive a
 * restart. In production TOKEN_SECRET is required (all web processes must share it).
 */
export function resolveTokenSecret(config: Config, file = LOCAL_SECRET_FILE): string {
  if (config.tokenSecret) return config.tokenSecret;
  if (config.env === 'production')
    throw new ConfigError(
      'invalid configuration:\n  TOKEN_SECRET: must be set in production (32+ characters, the same on every web process)',
    );
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    /* create it */
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** Why a generated secret matters: said at start (log and banner) and in the operations manual. */
export const GENERATED_SECRET_HINT =
  `TOKEN_SECRET is not set: this machine signs tokens with a secret of its own (${LOCAL_SECRET_FILE}). ` +
  'Every web process of one deployment must share one TOKEN_SECRET (32+ characters): a token issued by one ' +
  'host is refused by a host with another secret. Set TOKEN_SECRET before running a second web process on another machine.';

/**
 * A warning line at start when the token secret is this machine's generated one (outside production without
 * TOKEN_SECRET): fine for one machine, broken as soon as a second host serves the same deployment.
 */
export function warnIfGeneratedSecret(config: Pick<Config, 'tokenSecret'>, log: Logger): boolean {
  if (config.tokenSecret) return false;
  log.warn({ event: 'token_secret.generated', file: LOCAL_SECRET_FILE, hint: GENERATED_SECRET_HINT });
  return true;
}
