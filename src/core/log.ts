import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Keys whose values are secrets or message content: never written to a log line. They are censored wherever
 * they appear in the first levels of a log object (`token`, `req.token`, `req.headers.authorization`,
 * `err.config.password`...), up to REDACT_DEPTH levels below the top, and at the top of a child logger's bindings.
 */
export const REDACT_KEYS: ReadonlySet<string> = new Set([
  'password',
  'pass',
  'token',
  'apiKey',
  'key',
  'authorization',
  'rawBase64',
  'rawAscii',
  'secret',
  'tokenSecret',
  'cookie',
]);
const REDACT_DEPTH = 3;
const CENSOR = '[redacted]';

/**
 * Copy-on-write censoring: an object without secrets is returned as is (no allocation, which matters on
 * the per-message hot path: pino's path-based `redact` with wildcard paths cloned every value of every line,
 * garbage on every delivered message in the worker; figures: docs/benchmarks/2026-12-02.md), otherwise a copy
 * with each secret replaced.
 * Errors keep their prototype, message and stack. Arrays are left alone (no secret is logged in one).
 */
export function censorSecrets<T>(value: T, depth = 0): T {
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Buffer.isBuffer(value) ||
    value instanceof Date
  )
    return value;
  const obj = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    const v = obj[k];
    const next = REDACT_KEYS.has(k)
      ? v === undefined
        ? v
        : CENSOR
      : depth < REDACT_DEPTH && v !== null && typeof v === 'object'
        ? censorSecrets(v, depth + 1)
        : v;
    if (next !== v) {
      (copy ??=
        value instanceof Error
          ? (Object.defineProperties(
              Object.create(Object.getPrototypeOf(value) as object),
              Object.getOwnPropertyDescriptors(value),
            ) as Record<string, unknown>)
          : { ...obj })[k] = next;
    }
  }
  return (copy ?? value) as T;
}

/** `destination` (tests): where the JSON lines go instead of stdout. */
type Tuning = 'sync' | 'bufferMaxBytes' | 'writeBufferBytes' | 'flushMs';

export function createLogger(
  config: { log: Omit<Config['log'], Tuning> & Partial<Pick<Config['log'], Tuning>> },
  role: string,
  destination?: DestinationStream,
): Logger {
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
  if (options.transport) return pino(options);
  // pino's default destination is asynchronous: LOG_SYNC needs a synchronous one named explicitly
  if (config.log.sync) return pino(options, pino.destination({ dest: 1, sync: true }));
  // stdout written asynchronously: lines that arrive while a write is in flight go out together in the
  // next one. With LOG_WRITE_BUFFER_BYTES > 0, lines are also held until that many bytes are pending or
  // LOG_FLUSH_MS passed (fewer writes under load, but every line, including "draining" and "started",
  // reaches a log reader up to LOG_FLUSH_MS late: off by default). pino flushes what is pending when the
  // process exits. If stdout stalls, lines beyond LOG_BUFFER_MAX_BYTES are dropped, never held without bound.
  const writeBuffer = config.log.writeBufferBytes ?? 0;
  return pino(
    options,
    pino.destination({
      dest: 1,
      sync: false,
      maxLength: config.log.bufferMaxBytes || undefined,
      ...(writeBuffer > 0 ? { minLength: writeBuffer, periodicFlush: config.log.flushMs ?? 100 } : {}),
    }),
  );
}

/** The longest `drainLog` waits for lines still being written (a stalled stdout must not keep a process alive). */
export const LOG_DRAIN_BOUND_MS = 2_000;

interface AsyncDestination {
  sync?: boolean;
  destroyed?: boolean;
  /** sonic-boom's own state: bytes not yet written, and whether a write is on the thread pool */
  _len?: number;
  _writing?: boolean;
  on(event: 'write', fn: () => void): unknown;
  off(event: 'write', fn: () => void): unknown;
}

/**
 * Resolves once every line logged so far has been written (or after `boundMs`). pino's `flush()` does not
 * wait for a write already on the thread pool, and its exit hook writes what is buffered synchronously, so
 * without this the last lines before an exit could come out of order (seen: `shutdown.done` before the
 * `closed` line it follows) or, from a worker thread that is then terminated, not at all. A destination
 * that is synchronous, or not sonic-boom (tests pass their own), has nothing in flight.
 */
export function drainLog(log: Logger, boundMs = LOG_DRAIN_BOUND_MS): Promise<void> {
  const dest = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as AsyncDestination | undefined;
  const idle = () =>
    !dest ||
    dest.sync !== false ||
    dest.destroyed === true ||
    typeof dest._len !== 'number' ||
    (!dest._writing && dest._len === 0);
  if (idle()) return Promise.resolve();
  // lines held back by LOG_WRITE_BUFFER_BYTES go out now
  (dest as { flush?: () => void }).flush?.();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      dest!.off('write', onWrite);
      resolve();
    };
    // 'write' is emitted before sonic-boom decides whether another write follows: look once it has
    const onWrite = () =>
      process.nextTick(() => {
        if (idle()) done();
      });
    const timer = setTimeout(done, boundMs);
    dest!.on('write', onWrite);
  });
}

/**
 * End the process once its log lines are out, in order (bounded by LOG_DRAIN_BOUND_MS). Anything logged
 * while waiting is written by pino's exit hook after everything before it.
 */
export function exitAfterLog(log: Logger, code: number): void {
  void drainLog(log).then(() => process.exit(code));
}
