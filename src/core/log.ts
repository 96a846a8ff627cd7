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
export function createLogger(config: { log: Omit<Config['log'], 'sync' | 'bufferMaxBytes'> & Partial<Pick<Config['log'], 'sync' | 'bufferMaxBytes'>> }, role: string, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { role },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(config.log.pretty && !destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  if (destination) return pino(options, destination);
  if (options.transport || config.log.sync) return pino(options);
  // stdout written asynchronously: lines that arrive while a write is in flight go out together in the
  // next one (one syscall for many lines under load); pino flushes what is pending when the process exits.
  // If stdout stalls, lines beyond LOG_BUFFER_MAX_BYTES are dropped rather than held in memory.
  return pino(options, pino.destination({ dest: 1, sync: false, maxLength: config.log.bufferMaxBytes || undefined }));
}
