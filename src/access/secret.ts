import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { createKeyRing, generateKey, type KeyRing } from '../core/secret-box.js';

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
  return readOrCreateLocalSecret(file, {
    create: () => randomBytes(32).toString('base64url'),
    valid: (s) => s.length >= 32,
  });
}

/**
 * A secret of this machine kept in `file` (mode 0600): the file's trimmed content when `valid`, else a new one
 * from `create`, written there first.
 */
export function readOrCreateLocalSecret(
  file: string,
  rule: { create: () => string; valid: (secret: string) => boolean },
): string {
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (rule.valid(existing)) return existing;
  } catch {
    /* create it */
  }
  const secret = rule.create();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export const LOCAL_CREDENTIALS_KEY_FILE = '.data/credentials-key';

const validKey = (s: string) => {
  try {
    createKeyRing({ current: s });
    return true;
  } catch {
    return false;
  }
};

/**
 * The key ring that seals connected mailboxes' passwords: CREDENTIALS_KEY (and _PREVIOUS) when set. Outside
 * production, a key generated once into `.data/credentials-key` (mode 0600). In production without
 * CREDENTIALS_KEY: undefined, and connected mailboxes answer `501 connected_disabled`.
 */
export function resolveCredentialsRing(config: Config, file = LOCAL_CREDENTIALS_KEY_FILE): KeyRing | undefined {
  if (config.connected.keyRing) return config.connected.keyRing;
  if (config.env === 'production') return undefined;
  return createKeyRing({ current: readOrCreateLocalSecret(file, { create: generateKey, valid: validKey }) });
}

/** A warning at start when CREDENTIALS_KEY is not set: connected mailboxes are off, or rely on a local file. */
export function warnIfNoCredentialsKey(config: Config, log: Logger): boolean {
  if (config.connected.keyRing) return false;
  if (config.env === 'production')
    log.warn({
      event: 'credentials_key.missing',
      hint: 'CREDENTIALS_KEY is not set: connected mailboxes are disabled (501 connected_disabled). Set it to `openssl rand -base64 32`.',
    });
  else
    log.warn({
      event: 'credentials_key.generated',
      file: LOCAL_CREDENTIALS_KEY_FILE,
      hint:
        `CREDENTIALS_KEY is not set: connected mailboxes' passwords are sealed with this machine's key (${LOCAL_CREDENTIALS_KEY_FILE}). ` +
        'Losing that file loses every stored credential: back it up, or set CREDENTIALS_KEY.',
    });
  return true;
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

export const LOCAL_BOUNCE_SECRET_FILE = '.data/bounce-hmac-secret';

/**
 * The secrets that sign and verify VERP return paths (issue 21), current first: BOUNCE_HMAC_SECRET (and
 * BOUNCE_HMAC_SECRET_PREVIOUS during a rotation). Outside production without it, one generated once into
 * `.data/bounce-hmac-secret` (mode 0600). In production without it: none, so no message gets a VERP return path
 * and every `bounce+` address fails verification.
 */
export function resolveBounceSecrets(config: Config, file = LOCAL_BOUNCE_SECRET_FILE): string[] {
  const { hmacSecret, hmacSecretPrevious } = config.bounces;
  if (hmacSecret) return hmacSecretPrevious ? [hmacSecret, hmacSecretPrevious] : [hmacSecret];
  if (config.env === 'production') return [];
  return [
    readOrCreateLocalSecret(file, {
      create: () => randomBytes(32).toString('base64url'),
      valid: (s) => s.length >= 32,
    }),
  ];
}

/** At start without BOUNCE_HMAC_SECRET: a warning in production (VERP is off), a notice elsewhere (a generated secret). */
export function warnIfNoBounceSecret(config: Config, log: Logger): boolean {
  if (config.bounces.hmacSecret) return false;
  if (config.env === 'production')
    log.warn({
      event: 'bounce_secret.missing',
      hint: 'BOUNCE_HMAC_SECRET is not set: outbound mail keeps the mailbox address as envelope sender (no VERP) and no bounce can change a message. Set it to 32+ random characters, the same on every process.',
    });
  else
    log.info({
      event: 'bounce_secret.generated',
      file: LOCAL_BOUNCE_SECRET_FILE,
      hint: `BOUNCE_HMAC_SECRET is not set: VERP return paths are signed with this machine's secret (${LOCAL_BOUNCE_SECRET_FILE}). Set it before running processes on a second machine.`,
    });
  return true;
}

export const LOCAL_TRACKING_SECRET_FILE = '.data/tracking-secret';

/**
 * The open/click tracking key: TRACKING_HMAC_SECRET when set. Outside production, a random secret created once in
 * `.data/tracking-secret` (mode 0600). In production without it: undefined (the tracking routes answer 404 and
 * sends are not tracked); every web and worker process of a deployment needs the same value.
 */
export function resolveTrackingSecret(config: Config, file = LOCAL_TRACKING_SECRET_FILE): string | undefined {
  if (config.tracking.secret) return config.tracking.secret;
  if (config.env === 'production') return undefined;
  return readOrCreateLocalSecret(file, {
    create: () => randomBytes(32).toString('base64url'),
    valid: (s) => s.length >= 32,
  });
}
