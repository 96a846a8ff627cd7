import type Router from '@koa/router';
import type { Context } from 'koa';
import { newRouter } from './router.js';
import { ACCESS_PATHS, ACCESS_SCHEMAS } from './openapi/access.js';
import { asyncApiDocument, type AsyncApiOrigin } from './openapi/asyncapi.js';
import { ERROR_RESPONSES, ERROR_SCHEMAS, HEADERS } from './openapi/errors.js';
import type { JsonSchema } from './openapi/helpers.js';
import { INGRESS_PATHS, INGRESS_SCHEMAS } from './openapi/ingress.js';
import { MAILBOX_PATHS, MAILBOX_SCHEMAS } from './openapi/mailboxes.js';
import { MESSAGE_PATHS, MESSAGE_SCHEMAS } from './openapi/messages.js';
import { CONNECTED_PATHS, CONNECTED_SCHEMAS } from './openapi/connected.js';
import { BOUNCE_PATHS, BOUNCE_SCHEMAS } from './openapi/bounces.js';
import { OPERATION_PATHS, OPERATION_SCHEMAS } from './openapi/operations.js';
import { STREAM_PATHS } from './openapi/streams.js';
import { OUTBOUND_PATHS, OUTBOUND_SCHEMAS } from './openapi/outbound.js';
import { WEBHOOK_PATHS, WEBHOOK_SCHEMAS } from './openapi/webhooks.js';

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, JsonSchema>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, JsonSchema>;
    headers: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

export const OAS_31_DIALECT = 'https://spec.openapis.org/oas/3.1/dialect/base';

/** The OpenAPI 3.1 description of every public endpoint; test/integration/openapi.test.ts keeps it true. */
export function openApiDocument(serverUrl = '/'): OpenApiDocument {
  return {
    openapi: '3.1.0',
    // OpenAPI 3.1's own default dialect (JSON Schema 2020-12 with the OAS vocabulary). Swagger UI (/docs) shows a
    // "not supported" warning above the reference for any other value, such as the bare 2020-12 meta-schema.
    jsonSchemaDialect: OAS_31_DIALECT,
    info: {
      title: 'Mailwright API',
      version: '1',
      description:
        'Hosted temporary inboxes for CI and agents. Every error is {"error":{"code","message","request_id"}} with a stable code; ' +
        'every response carries X-Request-Id. Credentials: Authorization: Bearer <API key mw_...> or <mailbox token (JWT)>; ' +
        '?token= is accepted only by the streams (/events, /ws). /api/ requests are rate-limited (RateLimit-* headers; 429 with Retry-After). ' +
        'Unknown query parameters are a 400; an unknown route is 404 not_found, a known route with another method 405 method_not_allowed. ' +
        'A request the HTTP server cannot read is answered before any route: 400 malformed_request, 408 request_timeout, 431 headers_too_large. ' +
        'The SSE and WebSocket frames are described by the AsyncAPI 3.0 document /api/v1/asyncapi.json; a rendered reference is served at /docs.',
    },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }, { mailboxToken: [] }],
    tags: [
      { name: 'mailboxes', description: 'hosted inboxes with a TTL' },
      { name: 'messages', description: 'stored mail' },
      { name: 'streams', description: 'real-time delivery' },
      { name: 'access', description: 'API keys and mailbox tokens' },
      { name: 'ingress', description: 'mail entering over HTTP' },
      { name: 'outbound', description: 'sending mail from a mailbox, and its suppressions' },
      { name: 'webhooks', description: 'operator webhooks (Standard Webhooks) and open/click tracking' },
      { name: 'operations', description: 'health, readiness, metrics, the API documents and the reference page' },
    ],
    paths: {
      ...OPERATION_PATHS,
      ...MAILBOX_PATHS,
      ...MESSAGE_PATHS,
      ...CONNECTED_PATHS,
      ...BOUNCE_PATHS,
      ...STREAM_PATHS,
      ...ACCESS_PATHS,
      ...INGRESS_PATHS,
      ...OUTBOUND_PATHS,
      ...WEBHOOK_PATHS,
    },
    components: {
      schemas: {
        ...ERROR_SCHEMAS,
        ...MAILBOX_SCHEMAS,
        ...MESSAGE_SCHEMAS,
        ...CONNECTED_SCHEMAS,
        ...BOUNCE_SCHEMAS,
        ...OPERATION_SCHEMAS,
        ...ACCESS_SCHEMAS,
        ...INGRESS_SCHEMAS,
        ...OUTBOUND_SCHEMAS,
        ...WEBHOOK_SCHEMAS,
      },
      responses: ERROR_RESPONSES,
      headers: HEADERS,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'an API key, mw_<8 hex>_<43 base64url>: acts for its user on the mailboxes that user owns',
        },
        mailboxToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'a mailbox token: one mailbox, with permissions read / send / manage',
        },
        tokenQuery: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            'either credential as ?token=, only on /events and /ws (EventSource and browser WebSocket cannot set headers)',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
        adminBasic: { type: 'http', scheme: 'basic', description: 'ADMIN_USER / ADMIN_PASSWORD for /admin/queues' },
      },
    },
  };
}

const originOf = (url: URL): AsyncApiOrigin => ({
  host: url.host,
  secure: url.protocol === 'https:',
  pathname: url.pathname,
});

/** GET /api/v1/openapi.json and /api/v1/asyncapi.json: public, cacheable, not rate-limited (mounted ahead of the limiter). */
export function openApiRoutes(publicUrl?: string): Router {
  const router = newRouter();
  const body = openApiDocument(publicUrl ?? '/');
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = body;
  });
  // the streams' servers need a host: PUBLIC_URL's, else the one this request came to (the app trusts proxy headers)
  const fixed = publicUrl ? asyncApiDocument(originOf(new URL(publicUrl))) : undefined;
  router.get('/api/v1/asyncapi.json', (ctx: Context) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    if (!fixed) for (const h of ['Host', 'X-Forwarded-Host', 'X-Forwarded-Proto']) ctx.vary(h);
    ctx.body = fixed ?? asyncApiDocument({ host: ctx.host || 'localhost', secure: ctx.protocol === 'https' });
  });
  return router;
}
