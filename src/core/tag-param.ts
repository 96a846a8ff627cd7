import { BadRequest } from './errors.js';
import { MAX_TAG_LENGTH } from './address.js';

/**
 * `?tag=` on the message list, the wait and the streams: only messages whose recipient carried this tag
 * (`box+tag@…`). Tags are stored lower-case, as addresses are, so the value is compared lower-cased.
 */
export function tagParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_TAG_LENGTH || value.includes('\u0000')) {
    throw new BadRequest(`tag must be given once, 1 to ${MAX_TAG_LENGTH} characters`, 'invalid_tag');
  }
  return value.toLowerCase();
}
