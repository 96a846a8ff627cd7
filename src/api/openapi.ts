import Router from '@koa/router';
import { ERROR_RESPONSES, PATHS } from './openapi/paths.js';
import { SCHEMAS, type JsonSchema } from './openapi/schemas.js';

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, JsonSchema>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/** The OpenAPI 3.1 description of every public endpoint; test/integration/openapi.test.ts keeps it true. */
export function openApiDocument(serverUrl = '/'): OpenApiDocument {
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Mailwright API',
      version: '1',
      description: 'Hosted temporary inboxes for CI and agents. Errors are always {"error":{"code","message","request_id"}}.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'mailboxes', description: 'hosted inboxes with a TTL' },
      { name: 'messages', description: 'stored mail' },
      { name: 'streams', description: 'real-time delivery' },
      { name: 'access', description: 'API keys and mailbox tokens' },
      { name: 'ingress', description: 'mail entering over HTTP' },
      { name: 'operations', description: 'health, readiness, metrics' },
    ],
    paths: PATHS,
    components: {
      schemas: SCHEMAS,
      responses: ERROR_RESPONSES,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key (mw_...) or a mailbox token (JWT)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
        adminBasic: { type: 'http', scheme: 'basic', description: 'ADMIN_USER / ADMIN_PASSWORD for /admin/queues' },
      },
    },
  };
}

export function openApiRoutes(publicUrl?: string): Router {
  const router = new Router();
  const body = openApiDocument(publicUrl ?? '/');
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = body;
  });
  return router;
}
