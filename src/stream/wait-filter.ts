import { booleanParam, cursorParam, onlyParams, positiveInt } from '../core/params.js';
import { BadRequest } from '../core/errors.js';
import { tagParam } from '../core/tag-param.js';
import type { TextMatch, WaitFilter } from '../store/message-search.js';

export interface WaitRequest {
  filter: WaitFilter;
  waitSeconds: number;
}

export const WAIT_PARAMS = ['wait', 'subject', 'from', 'since', 'unread', 'limit', 'tag'];
/** The plain list (no wait, no filters) stays with the messages route. */
export const isWaitRequest = (q: Record<string, unknown>) =>
  ['wait', 'subject', 'from', 'since'].some((k) => q[k] !== undefined);

function textMatch(value: unknown, name: string, maxLength: number): TextMatch | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new BadRequest(`${name} must be given once and not be empty`, `invalid_${name}`);
  if (value.length > maxLength)
    throw new BadRequest(`${name} must be at most ${maxLength} characters`, `invalid_${name}`);
  if (value.includes('\u0000')) throw new BadRequest(`${name} must not contain a NUL character`, `invalid_${name}`);
  const re = /^\/(.+)\/[a-z]*$/s.exec(value);
  if (!re) return { kind: 'substring', value };
  try {
    new RegExp(re[1]!); // syntax check only; matching runs in Postgres (no backtracking blow-up in this process)
  } catch {
    throw new BadRequest(`${name} is not a valid regular expression`, `invalid_${name}`);
  }
  return { kind: 'regex', source: toPostgresRegex(re[1]!) };
}

/**
 * The JavaScript word-boundary escapes in Postgres's dialect: there `\b` is a backspace and `\B` a synonym of
 * `\\`, so `/\bcode\b/` never matched and the wait ran out with `[]`. Postgres writes them `\y` and `\Y`.
 * Inside a bracket expression `[\b]` is a backspace in both, and is left alone, as is an escaped backslash.
 */
export function toPostgresRegex(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\' && i + 1 < source.length) {
      const next = source[i + 1]!;
      out += !inClass && next === 'b' ? '\\y' : !inClass && next === 'B' ? '\\Y' : c + next;
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Parse and bound the query of GET .../messages?wait=&subject=&from=&since=&unread=&limit= */
export function parseWaitRequest(
  q: Record<string, unknown>,
  limits: { maxSeconds: number; filterMaxLength: number; pageMax: number },
): WaitRequest {
  onlyParams(q, WAIT_PARAMS);
  let waitSeconds = 0;
  if (q.wait !== undefined) {
    if (typeof q.wait !== 'string' || !/^[0-9]{1,6}$/.test(q.wait))
      throw new BadRequest('wait must be a whole number of seconds', 'invalid_wait');
    waitSeconds = Number(q.wait);
    if (waitSeconds > limits.maxSeconds)
      throw new BadRequest(`wait must be at most ${limits.maxSeconds} seconds`, 'invalid_wait');
  }
  const unreadOnly = booleanParam(q.unread, 'unread') ?? false;
  return {
    waitSeconds,
    filter: {
      subject: textMatch(q.subject, 'subject', limits.filterMaxLength),
      from: textMatch(q.from, 'from', limits.filterMaxLength),
      afterSeq: cursorParam(q.since, 'since'),
      unreadOnly,
      ...(q.tag !== undefined ? { tag: tagParam(q.tag) } : {}),
      limit: positiveInt(q.limit, 'limit', { max: limits.pageMax }) ?? 50,
    },
  };
}
