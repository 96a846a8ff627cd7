import { err, obj, ref, SEC, UNREADABLE, type JsonSchema } from './helpers.js';

/** Health, readiness, metrics, the queue board and the API documents (src/api/routes/health.ts, src/ops/*, src/api/openapi.ts). */
export const OPERATION_PATHS: Record<string, JsonSchema> = {
  '/healthz': {
    get: {
      operationId: 'getHealth',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      security: SEC.none,
      responses: {
        200: { description: 'alive', content: { 'application/json': { schema: ref('Health') } } },
        ...UNREADABLE,
      },
    },
  },
  '/readyz': {
    get: {
      operationId: 'getReadiness',
      summary: 'Readiness: Postgres, and Redis for every queue, answer within 2 s',
      tags: ['operations'],
      security: SEC.none,
      responses: {
        200: { description: 'ready', content: { 'application/json': { schema: ref('Readiness') } } },
        ...UNREADABLE,
        503: {
          description:
            'a dependency failed: checks.<name> is "failed: <reason>"; for Redis, "failed: <queue>: <error>" when a queue\'s slot answers errors (TRYAGAIN, CLUSTERDOWN, MOVED, CROSSSLOT)',
          content: { 'application/json': { schema: ref('Readiness') } },
        },
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics; Bearer METRICS_TOKEN when it is set, open otherwise (not rate-limited)',
      tags: ['operations'],
      security: [{ metricsToken: [] }, {}],
      responses: {
        200: {
          description: 'Prometheus text exposition format 0.0.4',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        401: err('METRICS_TOKEN is set and the request lacks it (WWW-Authenticate: Bearer realm="metrics")'),
        405: err('any method but GET/HEAD (Allow: GET, HEAD)'),
      },
    },
  },
  '/admin/queues': {
    get: {
      operationId: 'getQueueBoard',
      summary:
        'Bull Board (HTML UI for every BullMQ queue, also under /admin/queues/*); mounted only when ADMIN_USER and ADMIN_PASSWORD are set, else 404',
      tags: ['operations'],
      security: [{ adminBasic: [] }],
      responses: {
        200: { description: 'the board', content: { 'text/html': { schema: { type: 'string' } } } },
        401: { description: 'Basic credentials missing or wrong (WWW-Authenticate: Basic realm="Mailwright admin")' },
        404: err('the board is not mounted (ADMIN_USER/ADMIN_PASSWORD unset)'),
      },
    },
  },
  '/api/v1/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document (Cache-Control: public, max-age=300)',
      tags: ['operations'],
      security: SEC.none,
      responses: {
        200: {
          description: 'OpenAPI 3.1',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['openapi', 'paths'],
                properties: { openapi: { type: 'string', const: '3.1.0' }, paths: { type: 'object' } },
              },
            },
          },
        },
        ...UNREADABLE,
      },
    },
  },
  '/api/v1/asyncapi.json': {
    get: {
      operationId: 'getAsyncApiDocument',
      summary:
        'The AsyncAPI 3.0 document of the SSE and WebSocket streams: channels, every frame, close codes (Cache-Control: public, max-age=300)',
      tags: ['operations'],
      security: SEC.none,
      description: 'Its servers are PUBLIC_URL when set, else the host (and X-Forwarded-Proto) the request came with.',
      responses: {
        200: {
          description: 'AsyncAPI 3.0.0',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['asyncapi', 'channels'],
                properties: { asyncapi: { type: 'string', const: '3.0.0' }, channels: { type: 'object' } },
              },
            },
          },
        },
        ...UNREADABLE,
      },
    },
  },
  '/docs': {
    get: {
      operationId: 'getApiReference',
      summary:
        'The API reference: Swagger UI rendering /api/v1/openapi.json; its assets come from this server (strict Content-Security-Policy, not rate-limited)',
      tags: ['operations'],
      security: SEC.none,
      responses: {
        200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
        ...UNREADABLE,
      },
    },
  },
  '/docs/reference.js': {
    get: {
      operationId: 'getApiReferenceScript',
      summary: "The reference page's settings for Swagger UI",
      tags: ['operations'],
      security: SEC.none,
      responses: {
        200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } },
        ...UNREADABLE,
      },
    },
  },
  '/docs/{asset}': {
    get: {
      operationId: 'getApiReferenceAsset',
      summary: 'A file of swagger-ui-dist used by the page (Cache-Control: public, max-age=86400)',
      tags: ['operations'],
      security: SEC.none,
      parameters: [
        {
          name: 'asset',
          in: 'path',
          required: true,
          schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'] },
          description: 'anything else is 404 not_found',
        },
      ],
      responses: {
        200: {
          description: 'the file',
          content: {
            'text/css': { schema: { type: 'string' } },
            'application/javascript': { schema: { type: 'string' } },
            'image/png': { schema: { type: 'string', contentEncoding: 'binary' } },
          },
        },
        404: err('no such asset (not_found)'),
      },
    },
  },
};

export const OPERATION_SCHEMAS: Record<string, JsonSchema> = {
  Health: obj({ status: { type: 'string', const: 'ok' } }),
  Readiness: obj({
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    checks: obj({ postgres: { type: 'string' }, redis: { type: 'string' } }),
  }),
};
