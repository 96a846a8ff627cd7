import type Koa from 'koa';
import type Router from '@koa/router';
import { generateApiKey } from '../../src/core/api-keys.js';
import { createTokenSigner } from '../../src/access/tokens.js';
import { createApp } from '../../src/api/app.js';
import type { System } from './system.js';

export interface Tenant {
  userId: string;
  apiKey: string;
  keyId: string;
  keyPrefix: string;
}

/** A user with one API key, made the way `npm run cli -- users:create` makes them. */
export async function createTenant(sys: System, planId = 'free'): Promise<Tenant> {
  const user = await sys.deps.stores.users.create({ email: null, planId });
  const k = generateApiKey();
  const record = await sys.deps.stores.apiKeys.insert({
    userId: user.id,
    prefix: k.prefix,
    salt: k.salt,
    keyHash: k.hash,
    name: 'test',
  });
  return { userId: user.id, apiKey: k.key, keyId: record.id, keyPrefix: k.prefix };
}

export interface RouteSpec {
  method: string;
  path: string;
}

/**
 * Every route the API app mounts, read from the routers themselves, so a route added later (streams,
 * sending, ...) joins the authorization matrix without anyone editing the test.
 */
export function apiRoutes(sys: System): RouteSpec[] {
  // routers mounted only when their dependencies are given (streams) are built too: listed, never called
  const optional: Record<string, unknown> = { streams: {} };
  const app: Koa = createApp({
    ...sys.deps,
    ...optional,
    plans: sys.deps.stores.plans,
    signer: createTokenSigner(sys.config.tokenSecret!),
  });
  const out: RouteSpec[] = [];
  for (const mw of app.middleware as Array<{ router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      const path = String(layer.path).replace(/\/$/, '');
      for (const method of layer.methods) {
        if (method !== 'HEAD' && path.startsWith('/api/')) out.push({ method, path });
      }
    }
  }
  return out;
}

/** Route parameters with no fixture (a route added by a later branch); such routes still get checked. */
export const unknownParams = (path: string, params: Record<string, string>) =>
  [...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!).filter((name) => params[name] === undefined);

/** Fill `:param` placeholders; a parameter without a fixture becomes `no-such-<name>`. */
export function fill(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? `no-such-${name}`));
}

/** The error body without its per-request id, for comparing two responses. */
export const withoutRequestId = (body: any) =>
  body && body.error ? { error: { ...body.error, request_id: undefined } } : body;

export interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/**
 * One request with a deadline; a streaming answer (SSE) is cut off after its headers, so a route that
 * wrongly streams another tenant's mail fails the status check instead of hanging the test.
 */
export async function call(
  sys: System,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  if (opts.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(sys.baseUrl + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: undefined, text: '', headers: res.headers };
  }
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text, headers: res.headers };
}
