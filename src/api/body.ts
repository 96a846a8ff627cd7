import type { Context } from 'koa';
import { z } from 'zod';
import { BadRequest, PayloadTooLarge } from '../core/errors.js';

export const MAX_JSON_BODY_BYTES = 64 * 1024;

/** The request body as UTF-8 text; past `limit` bytes a 413 (a declared Content-Length is checked first). */
export async function readText(ctx: Context, limit: number): Promise<string> {
  if (Number(ctx.get('content-length') || 0) > limit) throw new PayloadTooLarge(`request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLarge(`request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A NUL character in any string or key of a parsed JSON value (iterative: a 64 KiB body can nest 32k deep). */
function hasNul(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/**
 * Parse a JSON body against a strict schema: unknown fields are a 400, so a client can never set a
 * server-owned field. An absent body is `{}`.
 */
export async function readJson<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.infer<S>> {
  return parseBody(await readJsonValue(ctx), schema);
}

/** The JSON body as a value, not yet checked against a schema (400 invalid_json, NUL → 400); absent: `{}`. */
export async function readJsonValue(ctx: Context): Promise<unknown> {
  const text = (await readText(ctx, MAX_JSON_BODY_BYTES)).trim();
  let value: unknown = {};
  if (text) {
    try {
      value = JSON.parse(text);
    } catch {
      // `curl -d 'ttl_minutes=5'` sends a form: say what is read instead
      const form = ctx.is('application/x-www-form-urlencoded')
        ? ' (form-encoded bodies are not read: send a JSON object, or query parameters)'
        : '';
      throw new BadRequest(`request body is not valid JSON${form}`, 'invalid_json');
    }
    // PostgreSQL text cannot hold NUL: refused here as bad input, never a failed INSERT (500)
    if (hasNul(value))
      throw new BadRequest('invalid request body: NUL characters (\\u0000) are not allowed', 'invalid_body');
  }
  return value;
}

/** A body value checked against a strict schema: 400 invalid_body naming each problem. */
export function parseBody<S extends z.ZodType>(value: unknown, schema: S): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new BadRequest(`invalid request body: ${detail}`, 'invalid_body');
  }
  return parsed.data;
}

/** For endpoints that take no body: anything but nothing (or `{}`) is rejected. */
export async function expectNoBody(ctx: Context): Promise<void> {
  const text = (await readText(ctx, MAX_JSON_BODY_BYTES)).trim();
  if (text && text !== '{}')
    throw new BadRequest('this endpoint takes no request body; use query parameters', 'unexpected_body');
}

/** A JSON field holding a whole number >= 1; one beyond 2^53 counts as Number.MAX_SAFE_INTEGER (as in positiveInt). */
export const jsonPositiveInt = z
  .number()
  .positive()
  .refine(Number.isInteger, { message: 'expected an integer' })
  .transform((n) => Math.min(n, Number.MAX_SAFE_INTEGER));

/**
 * The fields of an endpoint that takes them as query parameters or as a JSON body (or both): each parsed
 * by its own rules, then merged. A field given both ways must have the same value, else 400
 * `conflicting_parameters` naming it.
 */
export function mergeParams<T extends Record<string, unknown>>(
  fromQuery: Partial<T>,
  fromBody: Partial<T>,
): Partial<T> {
  const out: Partial<T> = { ...fromQuery };
  for (const key of Object.keys(fromBody) as Array<keyof T & string>) {
    const v = fromBody[key];
    if (v === undefined) continue;
    if (out[key] !== undefined && out[key] !== v) {
      throw new BadRequest(
        `${key} is given as a query parameter and in the body with different values; give it once`,
        'conflicting_parameters',
      );
    }
    out[key] = v;
  }
  return out;
}
