import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { asciiDomain } from './address.js';
import { AllowListError, parseAllowList, type AllowList } from './host-allow-list.js';
import { isClusterUrl, parseClusterUrl, type RedisClusterTarget } from './redis-url.js';
import { createKeyRing, SecretBoxError, type KeyRing } from './secret-box.js';

/**
 * A whole number written in decimal digits; surrounding whitespace is trimmed. Anything else fails start-up,
 * including an empty or blank value (`PORT=` is an error, not 0) and forms Number() would accept (`0x10`, `1e9`,
 * `1.0`, `+5`). An unset variable takes the setting's default.
 */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]+$/, 'expected a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
/** `int` that may be unset (or set empty): undefined then. */
const optionalInt = (min: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), int(min).optional());
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
/** A URL that `new URL` reads, with one of these schemes (a typo such as port `54x32` fails start-up, naming the variable). */
const url = (schemes: string[]) =>
  z
    .string()
    .min(1)
    .refine(
      (v) => {
        try {
          return schemes.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `expected a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`,
    );

/**
 * The database index of a Redis URL as ioredis reads it: the path (`redis://host:6379/2`), else `?db=`, else 0;
 * undefined when it is not a whole number.
 */
export function redisDb(value: string): number | undefined {
  const u = new URL(value);
  const given = u.pathname.length > 1 ? u.pathname.slice(1) : (u.searchParams.get('db') ?? '0');
  return /^[0-9]{1,5}$/.test(given) ? Number(given) : undefined;
}

/**
 * PGSSLMODE (libpq's variable, also read by the pg driver) becomes the `sslmode` of DATABASE_URL when the URL has
 * none: the application, `release` and the database bootstrap then connect with the same TLS settings, from one
 * value. An sslmode in the URL wins, as in libpq.
 */
function withSslMode(url: string, mode: string | undefined): string {
  const u = new URL(url);
  if (mode && !u.searchParams.has('sslmode')) u.searchParams.set('sslmode', mode);
  const given = u.searchParams.get('sslmode');
  // pg 8 treats prefer, require and verify-ca as verify-full and prints a SECURITY WARNING at start saying so (pg 9
  // will give them libpq's weaker meaning). Mailwright passes what pg does today, verify-full, explicitly: the same
  // connection, no warning, and no silent downgrade on a driver upgrade. `uselibpqcompat=true` keeps libpq's meaning.
  if (given && ALIASES_OF_VERIFY_FULL.has(given) && u.searchParams.get('uselibpqcompat') !== 'true')
    u.searchParams.set('sslmode', 'verify-full');
  return u.searchParams.get('sslmode') === new URL(url).searchParams.get('sslmode') ? url : u.toString();
}
const ALIASES_OF_VERIFY_FULL = new Set(['prefer', 'require', 'verify-ca']);

/**
 * REDIS_TLS_CA_FILE: the PEM certificate(s) of a private CA that signed the Redis server's certificate, read once
 * at start (a managed Redis with its own CA). Only with a rediss:// REDIS_URL.
 */
function redisTlsCa(file: string | undefined, url: string): string | undefined {
  if (file === undefined) return undefined;
  if (!/^rediss[:+]/i.test(url))
    throw new ConfigError(
      'invalid configuration:\n  REDIS_TLS_CA_FILE: needs a rediss:// REDIS_URL (TLS; rediss+cluster:// for a cluster)',
    );
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `invalid configuration:\n  REDIS_TLS_CA_FILE: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(
      `invalid configuration:\n  REDIS_TLS_CA_FILE: ${JSON.stringify(file)} holds no PEM certificate`,
    );
  return pem;
}

/**
 * A redis+cluster:// REDIS_URL as seed nodes; undefined for a standalone URL. On a cluster every queue gets its own
 * hash tag from the factory (`{<QUEUE_PREFIX>:<queue>}`, src/queue/places.ts): a prefix that already holds a hash
 * tag would put every queue, lock and limiter key into one slot (one master does all the work, the others idle),
 * so start-up refuses it and says what to set.
 */
function clusterTarget(url: string, prefix: string): RedisClusterTarget | undefined {
  if (!isClusterUrl(url)) return undefined;
  let target: RedisClusterTarget;
  try {
    target = parseClusterUrl(url);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  REDIS_URL: ${(err as Error).message}`);
  }
  if (/[{}]/.test(prefix))
    throw new ConfigError(
      `invalid configuration:\n  QUEUE_PREFIX: ${JSON.stringify(prefix)} holds a hash tag; on a Redis Cluster Mailwright gives` +
        ` every queue its own ({${prefix.replace(/[{}]/g, '')}:inbound}, …) so that they spread over the masters.` +
        ` Set QUEUE_PREFIX=${prefix.replace(/[{}]/g, '') || 'mw'} (letters, digits, _ and - only)`,
    );
  return target;
}

/** WORKER_INBOUND_SHARDS (`all`, or `0,2,4-7`) as shard numbers below INBOUND_SHARDS. */
function workerShards(value: string, shards: number): number[] {
  if (value === 'all') return Array.from({ length: shards }, (_, i) => i);
  const picked = new Set<number>();
  for (const part of value.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    for (let i = a; i <= b; i++) picked.add(i);
  }
  const out = [...picked].sort((x, y) => x - y);
  if (!out.length || out[out.length - 1]! >= shards)
    throw new ConfigError(
      `invalid configuration:\n  WORKER_INBOUND_SHARDS: ${JSON.stringify(value)} names a shard outside 0-${shards - 1} (INBOUND_SHARDS=${shards})`,
    );
  return out;
}

/**
 * Every environment variable Mailwright reads, with its default. This is the only place that knows
 * about `process.env`; docs/configuration.md documents each variable (test/unit/readme.test.ts compares them).
 */
export const ENV = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/mailwright'),
  DATABASE_POOL_MAX: int(1).default(10),
  PGSSLMODE: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']).optional(),
  ),
  // the cluster form (redis+cluster://h1:p1,h2:p2) is checked by clusterTarget() below
  REDIS_URL: z
    .string()
    .min(1)
    .refine(
      (v) => isClusterUrl(v) || url(['redis:', 'rediss:']).safeParse(v).success,
      'expected a URL starting with redis:// or rediss:// (or redis+cluster://host:port,host:port for a Redis Cluster)',
    )
    .refine((v) => {
      try {
        return isClusterUrl(v) || redisDb(v) !== undefined;
      } catch {
        return true; // not a URL at all: reported above
      }
    }, 'the database index (the path, or ?db=) must be a whole number')
    .default('redis://127.0.0.1:6379'),
  REDIS_TLS_CA_FILE: optionalString,
  REDIS_AUTO_PIPELINING: z
    .enum(['adaptive', 'on', 'off', 'true', 'false'])
    .default('adaptive')
    .transform((v) => (v === 'true' ? 'on' : v === 'false' ? 'off' : v)),
  REDIS_AUTO_PIPELINING_BUSY: int(2).default(4),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _ - { } only')
    .default('mw'),
  // --- Redis Cluster and sharded inbound queues (docs/scaling.md) ---
  INBOUND_SHARDS: int(1, 1024).default(1),
  WORKER_INBOUND_SHARDS: z
    .string()
    .trim()
    .regex(/^(all|[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)$/, 'all, or shard numbers and ranges such as 0,2,4-7')
    .default('all'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  PUBLIC_URL: optionalString,
  SMTP_HOST: z.string().min(1).default('0.0.0.0'),
  SMTP_PORT: int(0, 65535).default(2525),
  SMTP_HOSTNAME: z.string().min(1).default('mailwright.local'),
  SMTP_MAX_RECIPIENTS: int(1).default(50),
  SMTP_MAX_CLIENTS: int(1).default(1000),
  SMTP_SOCKET_TIMEOUT_MS: int(1000).default(60_000),
  SMTP_CLOSE_TIMEOUT_MS: int(0).default(10_000),
  SMTP_MAX_SESSION_MS: int(100).default(600_000),
  SMTP_MAX_DATA_MS: int(100).default(300_000),
  // message bytes the SMTP ingress holds at once, from DATA to the enqueue's answer (issue 24.6)
  SMTP_MAX_DATA_BYTES_IN_FLIGHT: int(1024).default(32 * 1024 * 1024),
  /** refusals of one kind logged in full per session; the rest are counted into one smtp.rejected_summary line */
  SMTP_LOG_REJECTS_PER_SESSION: int(0, 10_000).default(5),
  // SMTP session slots (issue 24): per-address cap, reserved headroom for new addresses, eviction of the idlest
  SMTP_MAX_CLIENTS_PER_IP: int(1).default(100),
  SMTP_RESERVED_CLIENTS_PERCENT: int(0, 50).default(10),
  SMTP_EVICT_IDLE_MS: int(0).default(10_000),
  SMTP_AUTH_ACCEPT_ANY: bool.default(true),
  SMTP_TLS_KEY_FILE: optionalString,
  SMTP_TLS_CERT_FILE: optionalString,
  /** implicit TLS (SMTPS, usually 465): unset or empty = no such listener; 0 = any free port (tests) */
  SMTPS_PORT: z.preprocess((v) => (v === '' ? undefined : v), int(0, 65535).optional()),
  MAIL_DOMAINS: z
    .string()
    .default('mailwright.test')
    // an internationalised domain may be given in Unicode; it is kept (and matched) as punycode
    .transform((s) =>
      s
        .split(',')
        .map((d) => asciiDomain(d))
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, 'not a domain name')).min(1, 'at least one domain')),
  // `box+tag@domain` is delivered to `box@domain` with the tag stored; one atext character that is not a letter,
  // digit or dot; empty turns tags off (the whole local part is the mailbox's)
  ADDRESS_TAG_SEPARATOR: z
    .string()
    .trim()
    .regex(/^[!#$%&'*+/=?^_`{|}~-]?$/, "one of ! # $ % & ' * + / = ? ^ _ ` { | } ~ - or empty (off)")
    .default('+'),
  MAX_MESSAGE_BYTES: int(1024).default(25 * 1024 * 1024),
  ENQUEUE_TIMEOUT_MS: int(100).default(3_000),
  WORKER_CONCURRENCY: int(1).default(64),
  WORKER_LARGE_MESSAGE_BYTES: int(1024).default(1024 * 1024),
  WORKER_LARGE_CONCURRENCY: int(1).default(2),
  WORKER_THREAD: bool.default(true),
  // npm start: delivery threads (each a BullMQ worker of its own); unset: one per core but one (the main thread's SMTP,
  // API and pushes, Postgres and Redis need one), at least 1: docs/benchmarks/2026-12-06-html-mail.md
  WORKER_THREADS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    int(1, 64).optional(),
  ),
  // bytes in flight (issue 24.6): raw bytes one worker process decodes, parses and stores at once (shared by its threads)
  WORKER_MAX_BYTES_IN_FLIGHT: int(1024).default(4 * 1024 * 1024),
  QUEUE_KEEP_COMPLETED: int(0).default(0),
  DELIVERY_BATCH_MAX: int(1).default(64),
  DELIVERY_BATCH_WAIT_MS: int(0).default(0),
  DELIVERY_BATCH_IN_FLIGHT: int(1).default(2),
  DELIVERY_BATCH_ITEM_MAX_BYTES: int(0).default(16 * 1024),
  MAILBOX_CACHE_MS: int(0).default(1_000),
  MAILBOX_CACHE_MAX: int(1).default(10_000),
  DELIVERY_ATTEMPTS: int(1).default(12),
  DELIVERY_BACKOFF_MS: int(10).default(1_000),
  PARSE_TIMEOUT_MS: int(1).default(20_000),
  // parse retry (issue 24): a parse that timed out is retried once, later, at low concurrency, under this limit
  PARSE_RETRY_TIMEOUT_MS: int(1).default(60_000),
  PARSE_RETRY_DELAY_MS: int(0).default(5_000),
  PARSE_MAX_HEADER_VALUE_CHARS: int(1).default(8_192),
  PARSE_MAX_HEADERS: int(1).default(500),
  PARSE_MAX_HEADER_BLOCK_BYTES: int(1024).default(256 * 1024),
  PARSE_MAX_HTML_TO_TEXT_CHARS: int(0).default(2 * 1024 * 1024),
  PARSE_ERROR_NOTE_MAX_CHARS: int(1).default(500),
  PLAN_CACHE_MS: int(0).default(10_000),
  TTL_UNIT_MS: int(1).default(60_000),
  MESSAGE_PAGE_MAX: int(1).default(200),
  ATTACHMENT_FILENAME_MAX_CHARS: int(1).default(255),
  SWEEP_INTERVAL_MS: int(100).default(60_000),
  PURGE_INTERVAL_MS: int(100).default(10 * 60_000),
  MAILBOX_RETENTION_MS: int(0).default(24 * 60 * 60_000),
  PURGE_BATCH_SIZE: int(1).default(1_000),
  MAINTENANCE_CONCURRENCY: int(1).default(8),
  MAINTENANCE_WORKER: bool.default(true),
  TOKEN_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
  CREDENTIALS_KEY: optionalString,
  CREDENTIALS_KEY_PREVIOUS: optionalString,
  CONNECTED_ALLOW_HOSTS: z.string().default(''),
  IMAP_TIMEOUT_MS: int(100).default(15_000),
  IMAP_MAX_CONNECTIONS_PER_MAILBOX: int(1, 100).default(2),
  IMAP_QUEUE_MAX: int(0, 1000).default(8),
  // connected mailboxes: the IDLE watchers of the worker role (new mail on the streams)
  CONNECTED_WATCHERS_MAX: int(0, 100_000).default(500),
  CONNECTED_WATCH_SCAN_MS: int(50).default(5_000),
  CONNECTED_WATCH_LEASE_MS: int(500).default(30_000),
  CONNECTED_WATCH_BACKOFF_MIN_MS: int(10).default(1_000),
  CONNECTED_WATCH_BACKOFF_MAX_MS: int(10).default(5 * 60_000),
  CONNECTED_WATCH_REIDLE_MS: int(1_000).default(25 * 60_000),
  CONNECTED_WATCH_POLL_MS: int(100).default(60_000),
  CONNECTED_WATCH_QUIET_MS: int(1_000).default(5 * 60_000),
  // VERP bounces (issue 21, docs/bounces.md)
  BOUNCE_HMAC_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
  BOUNCE_HMAC_SECRET_PREVIOUS: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
  BOUNCE_POLL_EVERY_MS: int(1000).default(300_000),
  BOUNCE_POLL_CONCURRENCY: int(1).default(2),
  BOUNCE_POLL_BATCH: int(1, 1000).default(50),
  BOUNCE_POLL_MAX_MESSAGES: int(1).default(1000),
  BOUNCE_MAX_BYTES: int(1024).default(1024 * 1024),
  BOUNCE_MAX_AGE_DAYS: int(1).default(30),
  BOUNCE_POLL_LOCK_MS: int(1000).default(60_000),
  TOKEN_DEFAULT_TTL_MINUTES: int(1).default(24 * 60),
  TOKEN_MAX_TTL_MINUTES: int(1).default(30 * 24 * 60),
  TOKENS_PER_MAILBOX_MAX: int(1).default(100),
  API_KEYS_PER_USER_MAX: int(1).default(20),
  RATE_LIMIT_ENABLED: bool.default(true),
  TRUSTED_PROXY_HOPS: int(0).default(1),
  RATE_LIMIT_TIMEOUT_MS: int(1).default(250),
  RATE_LIMIT_IP_POINTS: int(1).default(2400),
  RATE_LIMIT_IP_WINDOW_S: int(1).default(60),
  RATE_LIMIT_CREDENTIAL_POINTS: int(1).default(1200),
  RATE_LIMIT_CREDENTIAL_WINDOW_S: int(1).default(60),
  // mailbox creation budgets come from each plan's row (create_budget_*); these, when set, replace the row's value
  RATE_LIMIT_CREATE_IP_POINTS: optionalInt(1),
  RATE_LIMIT_CREATE_IP_WINDOW_S: optionalInt(1),
  RATE_LIMIT_CREATE_CREDENTIAL_POINTS: optionalInt(1),
  RATE_LIMIT_CREATE_CREDENTIAL_WINDOW_S: optionalInt(1),
  SMTP_CONNECTIONS_PER_IP: int(1).default(600),
  SMTP_CONNECTIONS_WINDOW_S: int(1).default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),
  LOG_SYNC: bool.default(false),
  LOG_BUFFER_MAX_BYTES: int(0).default(16 * 1024 * 1024),
  LOG_WRITE_BUFFER_BYTES: int(0, 16_383).default(0),
  LOG_FLUSH_MS: int(1).default(100),
  SHUTDOWN_BUDGET_MS: int(1000).default(25_000),
  SES_TOPIC_ARNS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/, 'not an SNS topic ARN'),
      ),
    ),
  // SNS Message <= 256 KiB; JSON escaping in the body at most doubles it; plus the envelope (docs/configuration.md)
  SES_MAX_BODY_BYTES: int(1024).default(528 * 1024),
  SES_CERT_CACHE_SIZE: int(1).default(16),
  SES_FETCH_TIMEOUT_MS: int(100).default(5_000),
  SES_FETCH_MAX_BYTES: int(1024).default(64 * 1024),
  ADMIN_USER: optionalString,
  ADMIN_PASSWORD: optionalString,
  ADMIN_BOARD_ACTIONS: bool.default(false),
  METRICS_TOKEN: optionalString,
  METRICS_PORT: int(0, 65535).default(0),
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  QUEUE_METRICS_TIMEOUT_MS: int(50).default(2_000),
  DATABASE_QUERY_TIMEOUT_MS: int(100).default(20_000),
  WORKER_LOCK_MS: int(1000).default(30_000),
  WORKER_MAX_STALLED_COUNT: int(1).default(5),
  WORKER_STALL_RESTART_MS: int(0).default(30_000),
  WORKER_CLOSE_IDLE_MS: int(100).default(2_000),
  STREAM_PING_MS: int(100).default(25_000),
  STREAM_REPLAY_PAGE: int(1).default(500),
  STREAM_MAX_PENDING_EVENTS: int(1).default(1_000),
  STREAM_MAX_BUFFERED_BYTES: int(1024).default(1024 * 1024),
  STREAM_MAX_PER_PROCESS: int(1).default(20_000),
  STREAM_MAX_PER_CREDENTIAL: int(1).default(20),
  STREAM_SUBSCRIBE_WAIT_MS: int(0).default(2_000),
  STREAM_UNSUBSCRIBE_LINGER_MS: int(0).default(10_000),
  WAIT_MAX_SECONDS: int(0).default(300),
  WAIT_FILTER_MAX_LENGTH: int(1).default(200),
  WAIT_REGEX_TIMEOUT_MS: int(10).default(500),
  EXTRACT_MAX_CODES: int(0).default(10),
  EXTRACT_MAX_LINKS: int(0).default(200),
  EXTRACT_MAX_URL_LENGTH: int(16).default(2_048),
  EXTRACT_MAX_INPUT_CHARS: int(1024).default(512 * 1024),
  // outbound sending (issue 20): docs/outbound.md
  OUTBOUND_RELAY_URL: optionalString.pipe(url(['smtp:', 'smtps:']).optional()),
  OUTBOUND_CONCURRENCY: int(1).default(16),
  OUTBOUND_MAX_ATTEMPTS: int(1).default(8),
  OUTBOUND_BACKOFF_MS: int(100).default(30_000),
  OUTBOUND_BACKOFF_MAX_MS: int(100).default(3_600_000),
  // unset: 2 × OUTBOUND_SMTP_TIMEOUT_MS; set: must be above it (a live attempt's claim must never lapse)
  OUTBOUND_LOCK_MS: optionalInt(1000),
  OUTBOUND_SMTP_TIMEOUT_MS: int(100).default(60_000),
  OUTBOUND_MAX_RECIPIENTS: int(1, 1000).default(50),
  OUTBOUND_MAX_MESSAGE_BYTES: int(1024).default(10 * 1024 * 1024),
  OUTBOUND_MAX_REQUEST_BYTES: optionalInt(1024),
  OUTBOUND_SWEEP_EVERY_MS: int(100).default(60_000),
  OUTBOUND_POOL_CONNECTIONS: int(1).default(5),
  IDEMPOTENCY_IN_PROGRESS_MS: int(1000).default(60_000),
  // operator webhooks and open/click tracking (issue 22; docs/webhooks.md)
  WEBHOOK_TIMEOUT_MS: int(100).default(10_000),
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .default('5000,300000,1800000,7200000,18000000,36000000,36000000')
    .transform((s) => s.split(',').map((v) => v.trim()))
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[0-9]+$/, 'comma-separated whole numbers of ms, each >= 0')
          .transform(Number),
      ),
    ),
  WEBHOOK_CONCURRENCY: int(1).default(50),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: int(1).default(4),
  WEBHOOK_DISABLE_AFTER_MS: int(0).default(5 * 24 * 3600_000),
  WEBHOOK_ALLOW_HOSTS: z.string().default(''),
  WEBHOOK_RETENTION_DAYS: int(1).default(30),
  WEBHOOK_SWEEP_INTERVAL_MS: int(100).default(10_000),
  WEBHOOK_OVERDUE_MS: int(0).default(30_000),
  TRACKING_HMAC_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
});

export type EnvInput = Partial<Record<keyof z.input<typeof ENV>, string>>;

/** Variables whose values are secrets: an error message gives their length only. */
const SECRET_VARIABLES = new Set([
  'TOKEN_SECRET',
  'ADMIN_PASSWORD',
  'METRICS_TOKEN',
  'CREDENTIALS_KEY',
  'CREDENTIALS_KEY_PREVIOUS',
  'BOUNCE_HMAC_SECRET',
  'BOUNCE_HMAC_SECRET_PREVIOUS',
  'TRACKING_HMAC_SECRET',
]);

/**
 * CREDENTIALS_KEY (and CREDENTIALS_KEY_PREVIOUS) as a key ring, checked at start: a bad key is a configuration
 * error naming the variable and a length, never the value. Unset: undefined (access/secret.ts then uses this
 * machine's generated key, or, in production, connected mailboxes are off).
 */
function credentialsRing(current: string | undefined, previous: string | undefined): KeyRing | undefined {
  if (current === undefined && previous !== undefined)
    throw new ConfigError(
      'invalid configuration:\n  CREDENTIALS_KEY_PREVIOUS: needs CREDENTIALS_KEY (the key to encrypt with)',
    );
  if (current === undefined) return undefined;
  try {
    return createKeyRing({ current, previous });
  } catch (err) {
    if (err instanceof SecretBoxError) throw new ConfigError(`invalid configuration:\n  ${err.message}`);
    throw err;
  }
}

/** CONNECTED_ALLOW_HOSTS as an allow-list; a bad entry is a configuration error naming it. */
function allowList(value: string, variable: string): AllowList {
  try {
    return parseAllowList(value, variable);
  } catch (err) {
    if (err instanceof AllowListError) throw new ConfigError(`invalid configuration:\n  ${err.message}`);
    throw err;
  }
}

/** OUTBOUND_RELAY_URL as connection settings: `smtps://` is implicit TLS, `smtp://` upgrades with STARTTLS when offered. */
export interface RelaySettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  pass?: string;
  /** the URL with its password as *** (logs, start notices) */
  shown: string;
}

function relaySettings(value: string): RelaySettings {
  const u = new URL(value);
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (!host)
    throw new ConfigError('invalid configuration:\n  OUTBOUND_RELAY_URL: needs a host (got a URL without one)');
  return {
    host,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    pass: u.password ? decodeURIComponent(u.password) : undefined,
    shown: value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'),
  };
}

/** How a bad value appears in the error: secrets by their length, URLs without a password. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (SECRET_VARIABLES.has(name)) return `a value of ${value.length} characters`;
  if (name.endsWith('_URL')) return JSON.stringify(value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'));
  return JSON.stringify(value);
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const known: Record<string, string | undefined> = {};
  for (const key of Object.keys(ENV.shape)) if (env[key] !== undefined) known[key] = env[key];
  const parsed = ENV.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}: ${i.message} (got ${shownValue(String(i.path[0]), known[String(i.path[0])])})`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.OUTBOUND_BACKOFF_MAX_MS < e.OUTBOUND_BACKOFF_MS)
    throw new ConfigError(
      `invalid configuration:\n  OUTBOUND_BACKOFF_MAX_MS: must be at least OUTBOUND_BACKOFF_MS (${e.OUTBOUND_BACKOFF_MS}) (got ${shownValue('OUTBOUND_BACKOFF_MAX_MS', known.OUTBOUND_BACKOFF_MAX_MS)})`,
    );
  if (e.OUTBOUND_LOCK_MS !== undefined && e.OUTBOUND_LOCK_MS <= e.OUTBOUND_SMTP_TIMEOUT_MS)
    throw new ConfigError(
      `invalid configuration:\n  OUTBOUND_LOCK_MS: must be greater than OUTBOUND_SMTP_TIMEOUT_MS (${e.OUTBOUND_SMTP_TIMEOUT_MS}): a slow but live SMTP transaction's claim would lapse and another worker would send the message again; leave it unset for 2 × OUTBOUND_SMTP_TIMEOUT_MS (got ${shownValue('OUTBOUND_LOCK_MS', known.OUTBOUND_LOCK_MS)})`,
    );
  if (e.SMTPS_PORT !== undefined && !(e.SMTP_TLS_KEY_FILE && e.SMTP_TLS_CERT_FILE)) {
    throw new ConfigError(
      `invalid configuration:\n  SMTPS_PORT: needs SMTP_TLS_KEY_FILE and SMTP_TLS_CERT_FILE, the certificate STARTTLS uses (got ${shownValue('SMTPS_PORT', known.SMTPS_PORT)})`,
    );
  }
  const cluster = clusterTarget(e.REDIS_URL, e.QUEUE_PREFIX);
  return Object.freeze({
    env: e.NODE_ENV,
    db: {
      url: withSslMode(e.DATABASE_URL, e.PGSSLMODE),
      poolMax: e.DATABASE_POOL_MAX,
      queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    },
    redis: {
      url: e.REDIS_URL,
      db: cluster ? 0 : (redisDb(e.REDIS_URL) ?? 0),
      /** the seed nodes of a redis+cluster:// REDIS_URL; undefined: one standalone Redis */
      cluster,
      /** INBOUND_SHARDS: the inbound queue is this many queues, each its own hash tag (src/queue/places.ts) */
      inboundShards: e.INBOUND_SHARDS,
      /** WORKER_INBOUND_SHARDS: the shards this worker consumes */
      workerShards: workerShards(e.WORKER_INBOUND_SHARDS, e.INBOUND_SHARDS),
      tlsCa: redisTlsCa(e.REDIS_TLS_CA_FILE, e.REDIS_URL),
      prefix: e.QUEUE_PREFIX,
      enqueueTimeoutMs: e.ENQUEUE_TIMEOUT_MS,
      autoPipelining: e.REDIS_AUTO_PIPELINING,
      autoPipeliningBusy: e.REDIS_AUTO_PIPELINING_BUSY,
    },
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL },
    smtp: {
      host: e.SMTP_HOST,
      port: e.SMTP_PORT,
      hostname: e.SMTP_HOSTNAME,
      maxRecipients: e.SMTP_MAX_RECIPIENTS,
      maxClients: e.SMTP_MAX_CLIENTS,
      socketTimeoutMs: e.SMTP_SOCKET_TIMEOUT_MS,
      closeTimeoutMs: e.SMTP_CLOSE_TIMEOUT_MS,
      maxSessionMs: e.SMTP_MAX_SESSION_MS,
      maxDataMs: e.SMTP_MAX_DATA_MS,
      /** message bytes held at once by the ingress (ingress/smtp/data-budget.ts); past it a message gets 452 4.3.1 */
      maxDataBytesInFlight: e.SMTP_MAX_DATA_BYTES_IN_FLIGHT,
      logRejectsPerSession: e.SMTP_LOG_REJECTS_PER_SESSION,
      authAcceptAny: e.SMTP_AUTH_ACCEPT_ANY,
      // session slots (ingress/smtp/slots.ts): the per-address cap, the sessions kept for addresses holding none, eviction
      maxClientsPerIp: e.SMTP_MAX_CLIENTS_PER_IP,
      reservedClients: Math.floor((e.SMTP_MAX_CLIENTS * e.SMTP_RESERVED_CLIENTS_PERCENT) / 100),
      evictIdleMs: e.SMTP_EVICT_IDLE_MS,
      tlsKeyFile: e.SMTP_TLS_KEY_FILE,
      tlsCertFile: e.SMTP_TLS_CERT_FILE,
      /** the implicit TLS listener's port (same host, certificate and hooks as SMTP_PORT), or undefined: none */
      smtpsPort: e.SMTPS_PORT,
    },
    mail: {
      domains: e.MAIL_DOMAINS,
      maxMessageBytes: e.MAX_MESSAGE_BYTES,
      tagSeparator: e.ADDRESS_TAG_SEPARATOR || null,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      largeMessageBytes: e.WORKER_LARGE_MESSAGE_BYTES,
      largeConcurrency: e.WORKER_LARGE_CONCURRENCY,
      /** npm start (all roles in one process): run the delivery worker in a worker thread of its own */
      thread: e.WORKER_THREAD,
      /** npm start with `thread`: how many delivery threads (WORKER_CONCURRENCY etc. are shared between them) */
      threads: e.WORKER_THREADS ?? Math.max(1, availableParallelism() - 1),
      /** raw bytes decoded, parsed and stored at once by one worker (a larger message runs alone) */
      maxBytesInFlight: e.WORKER_MAX_BYTES_IN_FLIGHT,
      keepCompleted: e.QUEUE_KEEP_COMPLETED,
      attempts: e.DELIVERY_ATTEMPTS,
      backoffMs: e.DELIVERY_BACKOFF_MS,
      parseTimeoutMs: e.PARSE_TIMEOUT_MS,
      /** a timed-out parse is retried in the inbound-large queue after delayMs, under timeoutMs (pipeline/parse-retry.ts) */
      parseRetry: { timeoutMs: e.PARSE_RETRY_TIMEOUT_MS, delayMs: e.PARSE_RETRY_DELAY_MS },
      lockMs: e.WORKER_LOCK_MS,
      maxStalledCount: e.WORKER_MAX_STALLED_COUNT,
      /** an inbound consumer with jobs waiting that took none for this long is closed and opened again (0: never) */
      stallRestartMs: e.WORKER_STALL_RESTART_MS,
      /** on shutdown, how long a consumer with no job in flight may take to close before it is left behind */
      closeIdleMs: e.WORKER_CLOSE_IDLE_MS,
      batch: {
        maxItems: e.DELIVERY_BATCH_MAX,
        maxWaitMs: e.DELIVERY_BATCH_WAIT_MS,
        maxInFlight: e.DELIVERY_BATCH_IN_FLIGHT,
        maxItemBytes: e.DELIVERY_BATCH_ITEM_MAX_BYTES,
      },
      mailboxCache: { ttlMs: e.MAILBOX_CACHE_MS, maxEntries: e.MAILBOX_CACHE_MAX },
    },
    plans: { cacheMs: e.PLAN_CACHE_MS, ttlUnitMs: e.TTL_UNIT_MS },
    api: { messagePageMax: e.MESSAGE_PAGE_MAX, attachmentFilenameMaxChars: e.ATTACHMENT_FILENAME_MAX_CHARS },
    lifecycle: {
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      purgeIntervalMs: e.PURGE_INTERVAL_MS,
      retentionMs: e.MAILBOX_RETENTION_MS,
      purgeBatchSize: e.PURGE_BATCH_SIZE,
      maintenanceConcurrency: e.MAINTENANCE_CONCURRENCY,
      maintenanceWorker: e.MAINTENANCE_WORKER,
    },
    tokenSecret: e.TOKEN_SECRET,
    connected: {
      /** the key ring of CREDENTIALS_KEY(_PREVIOUS); undefined: not set (see access/secret.ts) */
      keyRing: credentialsRing(e.CREDENTIALS_KEY, e.CREDENTIALS_KEY_PREVIOUS),
      allowHosts: allowList(e.CONNECTED_ALLOW_HOSTS, 'CONNECTED_ALLOW_HOSTS'),
      imapTimeoutMs: e.IMAP_TIMEOUT_MS,
      /** IMAP sessions at once per connected mailbox in this process; IMAP_QUEUE_MAX more wait, the rest: 503 */
      imapMaxConnectionsPerMailbox: e.IMAP_MAX_CONNECTIONS_PER_MAILBOX,
      imapQueueMax: e.IMAP_QUEUE_MAX,
      /** the worker role's IDLE watchers, one per active connected mailbox across all workers (a Redis lease) */
      watch: {
        /** watchers one worker process runs at most (0: this worker runs none) */
        maxPerWorker: e.CONNECTED_WATCHERS_MAX,
        /** how often a worker looks for connected mailboxes to watch (and for deleted or changed ones) */
        scanMs: e.CONNECTED_WATCH_SCAN_MS,
        /** a watcher's Redis lease; renewed every third of it, lost: the watcher stops */
        leaseMs: e.CONNECTED_WATCH_LEASE_MS,
        backoffMinMs: e.CONNECTED_WATCH_BACKOFF_MIN_MS,
        backoffMaxMs: Math.max(e.CONNECTED_WATCH_BACKOFF_MIN_MS, e.CONNECTED_WATCH_BACKOFF_MAX_MS),
        /** IDLE is ended and started again this often (RFC 2177: servers may drop an IDLE after 30 min) */
        reIdleMs: e.CONNECTED_WATCH_REIDLE_MS,
        /** NOOP period on a server without IDLE */
        pollMs: e.CONNECTED_WATCH_POLL_MS,
        /** a watcher's connection quiet this long is probed with NOOP; no answer by the next period: reconnect */
        quietMs: e.CONNECTED_WATCH_QUIET_MS,
      },
    },
    bounces: {
      /** signs VERP return paths; undefined: access/secret.ts generates one outside production, none in production */
      hmacSecret: e.BOUNCE_HMAC_SECRET,
      hmacSecretPrevious: e.BOUNCE_HMAC_SECRET_PREVIOUS,
      pollEveryMs: e.BOUNCE_POLL_EVERY_MS,
      pollConcurrency: e.BOUNCE_POLL_CONCURRENCY,
      pollBatch: e.BOUNCE_POLL_BATCH,
      pollMaxMessages: e.BOUNCE_POLL_MAX_MESSAGES,
      maxBytes: e.BOUNCE_MAX_BYTES,
      maxAgeDays: e.BOUNCE_MAX_AGE_DAYS,
      /** the per-mailbox poll lock in Redis: renewed every third of it while a poll runs */
      lockMs: e.BOUNCE_POLL_LOCK_MS,
    },
    access: {
      tokenDefaultTtlMinutes: e.TOKEN_DEFAULT_TTL_MINUTES,
      tokenMaxTtlMinutes: e.TOKEN_MAX_TTL_MINUTES,
      tokensPerMailboxMax: e.TOKENS_PER_MAILBOX_MAX,
      apiKeysPerUserMax: e.API_KEYS_PER_USER_MAX,
    },
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      trustedProxyHops: e.TRUSTED_PROXY_HOPS,
      timeoutMs: e.RATE_LIMIT_TIMEOUT_MS,
      ip: { points: e.RATE_LIMIT_IP_POINTS, windowS: e.RATE_LIMIT_IP_WINDOW_S },
      credential: { points: e.RATE_LIMIT_CREDENTIAL_POINTS, windowS: e.RATE_LIMIT_CREDENTIAL_WINDOW_S },
      /** operator overrides of the `anonymous` plan's creation budget (per client IP); unset: the plan row decides */
      createIp: { points: e.RATE_LIMIT_CREATE_IP_POINTS, windowS: e.RATE_LIMIT_CREATE_IP_WINDOW_S },
      /** operator overrides of every other plan's creation budget (per API key); unset: the plan row decides */
      createCredential: {
        points: e.RATE_LIMIT_CREATE_CREDENTIAL_POINTS,
        windowS: e.RATE_LIMIT_CREATE_CREDENTIAL_WINDOW_S,
      },
      smtpConnections: { points: e.SMTP_CONNECTIONS_PER_IP, windowS: e.SMTP_CONNECTIONS_WINDOW_S },
    },
    log: {
      level: e.LOG_LEVEL,
      pretty: e.LOG_PRETTY ?? false,
      sync: e.LOG_SYNC,
      bufferMaxBytes: e.LOG_BUFFER_MAX_BYTES,
      writeBufferBytes: e.LOG_WRITE_BUFFER_BYTES,
      flushMs: e.LOG_FLUSH_MS,
    },
    shutdownBudgetMs: e.SHUTDOWN_BUDGET_MS,
    ses: {
      topicArns: e.SES_TOPIC_ARNS,
      maxBodyBytes: e.SES_MAX_BODY_BYTES,
      certCacheSize: e.SES_CERT_CACHE_SIZE,
      fetchTimeoutMs: e.SES_FETCH_TIMEOUT_MS,
      fetchMaxBytes: e.SES_FETCH_MAX_BYTES,
    },
    ops: {
      admin: e.ADMIN_USER && e.ADMIN_PASSWORD ? { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD } : undefined,
      adminActions: e.ADMIN_BOARD_ACTIONS,
      metricsToken: e.METRICS_TOKEN,
      metricsPort: e.METRICS_PORT,
      metricsHost: e.METRICS_HOST,
      queueMetricsTimeoutMs: e.QUEUE_METRICS_TIMEOUT_MS,
    },
    streams: {
      pingMs: e.STREAM_PING_MS,
      replayPage: e.STREAM_REPLAY_PAGE,
      maxPendingEvents: e.STREAM_MAX_PENDING_EVENTS,
      maxBufferedBytes: e.STREAM_MAX_BUFFERED_BYTES,
      maxPerProcess: e.STREAM_MAX_PER_PROCESS,
      /** per web process: with N web processes one credential may hold N times this */
      maxPerCredential: e.STREAM_MAX_PER_CREDENTIAL,
      /** how long a stream or wait waits for Redis to confirm its mailbox channel before reading Postgres anyway */
      subscribeWaitMs: e.STREAM_SUBSCRIBE_WAIT_MS,
      /** how long a mailbox channel stays subscribed after its last listener left */
      unsubscribeLingerMs: e.STREAM_UNSUBSCRIBE_LINGER_MS,
    },
    parse: {
      maxHeaderValueChars: e.PARSE_MAX_HEADER_VALUE_CHARS,
      maxHeaders: e.PARSE_MAX_HEADERS,
      maxHeaderBlockBytes: e.PARSE_MAX_HEADER_BLOCK_BYTES,
      maxHtmlToTextChars: e.PARSE_MAX_HTML_TO_TEXT_CHARS,
      maxErrorNoteChars: e.PARSE_ERROR_NOTE_MAX_CHARS,
    },
    extract: {
      maxCodes: e.EXTRACT_MAX_CODES,
      maxLinks: e.EXTRACT_MAX_LINKS,
      maxUrlLength: e.EXTRACT_MAX_URL_LENGTH,
      maxInputChars: e.EXTRACT_MAX_INPUT_CHARS,
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      /** the delay before each retry: one entry per retry, so attempts = entries + 1 */
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      maxInFlightPerEndpoint: e.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
      allowHosts: allowList(e.WEBHOOK_ALLOW_HOSTS, 'WEBHOOK_ALLOW_HOSTS'),
      retentionDays: e.WEBHOOK_RETENTION_DAYS,
      /** how often the scheduler re-adds overdue deliveries and purges old events */
      sweepIntervalMs: e.WEBHOOK_SWEEP_INTERVAL_MS,
      overdueMs: e.WEBHOOK_OVERDUE_MS,
    },
    tracking: { secret: e.TRACKING_HMAC_SECRET },
    wait: {
      maxSeconds: e.WAIT_MAX_SECONDS,
      filterMaxLength: e.WAIT_FILTER_MAX_LENGTH,
      regexTimeoutMs: e.WAIT_REGEX_TIMEOUT_MS,
    },
    outbound: {
      /** the relay hosted mailboxes send through (undefined: hosted mailboxes cannot send) */
      relay: e.OUTBOUND_RELAY_URL === undefined ? undefined : relaySettings(e.OUTBOUND_RELAY_URL),
      concurrency: e.OUTBOUND_CONCURRENCY,
      maxAttempts: e.OUTBOUND_MAX_ATTEMPTS,
      backoffMs: e.OUTBOUND_BACKOFF_MS,
      backoffMaxMs: e.OUTBOUND_BACKOFF_MAX_MS,
      lockMs: e.OUTBOUND_LOCK_MS ?? 2 * e.OUTBOUND_SMTP_TIMEOUT_MS,
      smtpTimeoutMs: e.OUTBOUND_SMTP_TIMEOUT_MS,
      maxRecipients: e.OUTBOUND_MAX_RECIPIENTS,
      maxMessageBytes: e.OUTBOUND_MAX_MESSAGE_BYTES,
      /** default: the message limit as base64 (4/3) plus 64 KiB of JSON around it */
      maxRequestBytes: e.OUTBOUND_MAX_REQUEST_BYTES ?? Math.ceil((e.OUTBOUND_MAX_MESSAGE_BYTES * 4) / 3) + 64 * 1024,
      sweepEveryMs: e.OUTBOUND_SWEEP_EVERY_MS,
      poolConnections: e.OUTBOUND_POOL_CONNECTIONS,
      idempotencyInProgressMs: e.IDEMPOTENCY_IN_PROGRESS_MS,
    },
  });
}

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * For the process entrypoints: the configuration, or a message naming each bad variable on stderr and exit 2
 * (1 for anything else), never a stack trace.
 */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  return orExit(() => loadConfig(env));
}

/** For an entrypoint: `fn`'s result, or its error as one message and an exit (2 for a ConfigError, else 1). */
export function orExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
}
