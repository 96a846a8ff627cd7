import type { Budget } from './rate-limit.js';

/** The command that creates a user with an API key (src/bin/cli.ts), as the anonymous 429 names it. */
export const CREATE_KEY_COMMAND = 'npm run cli -- users:create --plan free';

/**
 * What an anonymous caller over its creation budget is told besides the wait: how to get an API key, whose
 * plan has a budget of its own (per key, not per IP).
 */
export const anonymousCreateAdvice = (b: Budget) =>
  `. Without a credential, ${b.points} mailboxes per ${b.windowS} s may be created per client IP; ` +
  `an API key has a budget of its own, set by its plan: create a user and key on the server with \`${CREATE_KEY_COMMAND}\` ` +
  'and send it as `Authorization: Bearer <key>`';
