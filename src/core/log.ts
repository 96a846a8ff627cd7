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
export function createLogger(config: Pick<Config, 'log'>, role: string, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { role },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(config.log.pretty && !destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
