import { BadRequest } from '../core/errors.js';

/**
 * A query parameter that must be a positive integer when present: decimal digits only (no sign, point,
 * exponent, hex or spaces), with a value of at least 1, however many digits. A value beyond what a double
 * holds exactly counts as Number.MAX_SAFE_INTEGER: a caller that caps (a TTL at the plan maximum) caps it,
 * and one with a `max` refuses it as over the maximum, which is what it is.
 */
export function positiveInt(value: unknown, name: string, { max }: { max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || !/[1-9]/.test(value)) {
    throw new BadRequest(`${name} must be a positive integer`, `invalid_${name}`);
  }
  const n = Math.min(Number(value), Number.MAX_SAFE_INTEGER);
  if (max !== undefined && n > max) throw new BadRequest(`${name} must be at most ${max}`, `invalid_${name}`);
  return n;
}

/** A query flag: absent, `true` or `false` (anything else, an empty value or the name twice: 400 `invalid_<name>`). */
export function booleanParam(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new BadRequest(`${name} must be true or false`, `invalid_${name}`);
  return value === 'true';
}

/** A cursor is the opaque string the API handed out (a per-mailbox sequence number). */
export function cursorParam(value: unknown, name = 'cursor'): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value))
    throw new BadRequest(`${name} is not a valid cursor`, 'invalid_cursor');
  return Number(value);
}

/**
 * The message list's paging cursor, as X-Next-Cursor gives it: `<received_at in ms>.<seq>` of the last message
 * of the previous page (opaque to clients).
 */
export function listCursorParam(value: unknown, name = 'cursor'): { receivedAt: Date; seq: number } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = typeof value === 'string' ? /^([0-9]{1,15})\.([0-9]{1,15})$/.exec(value) : null;
  if (!m)
    throw new BadRequest(
      `${name} is not a valid cursor (pass the X-Next-Cursor of the previous page)`,
      'invalid_cursor',
    );
  return { receivedAt: new Date(Number(m[1])), seq: Number(m[2]) };
}

export const listCursor = (m: { receivedAt: Date; seq: number }) => `${m.receivedAt.getTime()}.${m.seq}`;

export function onlyParams(query: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new BadRequest(`unknown query parameter(s): ${unknown.join(', ')}`, 'unknown_parameter');
}
