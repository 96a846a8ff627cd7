import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Keys whose values are secrets or message content: never written to a log line. They are censored wherever
 * they appear in the first levels of a log object (`token`, `req.token`, `req.headers.authorization`,
 * `err.config.password`...), up to REDACT_DEPTH levels below the top, and at the top of a child logger's bindings.
 */
export const REDACT_KEYS: ReadonlySet<string> = new Set([
  'password', 'pass', 'token', 'apiKey', 'key', 'authorization', 'rawBase64', 'secret', 'tokenSecret', 'cookie',
]);
const REDACT_DEPTH = 3;
const CENSOR = '[redacted]';

/**
 * Copy-on-write censoring: an object without secrets is returned as is (no allocation, which matters on
 * the per-message hot path: pino's path-based `redact` with wildcard paths cloned every value of every line,
 * 37 KB of garbage per delivered message in the worker), otherwise a copy with each secret replaced.
 * Errors keep their prototype, message and stack. Arrays are left alone (no secret is logged in one).
 */
export function censorSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value) || value instanceof Date) return value;
  const obj = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    const v = obj[k];
    const next = REDACT_KEYS.has(k) ? (v === undefined ? v : CENSOR) : depth < REDACT_DEPTH && v !== null && typeof v === 'object' ? censorSecrets(v, depth + 1) : v;
    if (next !== v) {
      (copy ??= value instanceof Error
        ? (Object.defineProperties(Object.create(Object.getPrototypeOf(value) as object), Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>)
        : { ...obj })[k] = next;
    }
  }
  return (copy ?? value) as T;
}

/** `destination` (tests): where the JSON lines go instead of stdout. */
type Tuning = 'sync' | 'bufferMaxBytes' | 'writeBufferBytes' | 'flushMs';

export function createLogger(config: { log: Omit<Config['log'], Tuning> & Partial<Pick<Config['log'], Tuning>> }, role: string, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { role },
    // log objects: censorSecrets (any depth up to REDACT_DEPTH); child bindings, which pino does not pass to a
    // formatter: exact top-level paths (no wildcard, so no per-key cost for other keys)
    formatters: { log: (o: Record<string, unknown>) => censorSecrets(o) },
    redact: { paths: [...REDACT_KEYS], censor: CENSOR },
    ...(config.log.pretty && !destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  if (destination) return pino(options, destination);
  if (options.transport || config.log.sync) return pino(options);
  // stdout written asynchronously: lines that arrive while a write is in flight go out together in the
  // next one. With LOG_WRITE_BUFFER_BYTES > 0, lines are also held until that many bytes are pending or
  // LOG_FLUSH_MS passed (fewer writes under load, but every line, including "draining" and "started",
  // reaches a log reader up to LOG_FLUSH_MS late: off by default). pino flushes what is pending when the
  // process exits. If stdout stalls, lines beyond LOG_BUFFER_MAX_BYTES are dropped, never held without bound.
  const writeBuffer = config.log.writeBufferBytes ?? 0;
  return pino(options, pino.destination({
    dest: 1,
    sync: false,
    maxLength: config.log.bufferMaxBytes || undefined,
    ...(writeBuffer > 0 ? { minLength: writeBuffer, periodicFlush: config.log.flushMs ?? 100 } : {}),
  }));
}
