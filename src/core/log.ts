import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Paths whose values are secrets or message content: never written to a log line. */
export const REDACT_PATHS = [
  'password', '*.password', 'pass', '*.pass', 'token', '*.token', 'apiKey', '*.apiKey', 'key', '*.key',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization',
  'rawBase64', '*.rawBase64', 'secret', '*.secret', 'tokenSecret', '*.tokenSecret',
  'query.token', '*.query.token', 'cookie', '*.cookie', '*.headers.cookie',
];

/** `destination` (tests): where the JSON lines go instead of stdout. */
type Tuning = 'sync' | 'bufferMaxBytes' | 'writeBufferBytes' | 'flushMs';

export function createLogger(config: { log: Omit<Config['log'], Tuning> & Partial<Pick<Config['log'], Tuning>> }, role: string, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { role },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
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
