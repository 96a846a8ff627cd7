import type { JsonSchema } from './schemas.js';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: JsonSchema, headers?: JsonSchema) => ({ description, content: json(schema), ...(headers ? { headers } : {}) });
const err = (description: string) => ({ description, content: json(ref('Error')) });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const q = (name: string, schema: JsonSchema, description: string) => ({ name, in: 'query', required: false, schema, description });
const ADDRESS = { name: 'address', in: 'path', required: true, schema: { type: 'string' }, description: 'mailbox address, e.g. k3x9@mailwright.test' };
const ID = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'message id (ULID)' };
const other = (issue: number) => ({ 'x-mailwright-issue': issue, 'x-mailwright-status': 'described from the issue; built on another branch' });

export const ERROR_RESPONSES = {
  E400: err('invalid request (unknown query parameter, bad value, unexpected body)'),
  E401: err('missing, invalid, revoked or expired credential'),
  E403: err('credential lacks the permission, or a plan limit'),
  E404: err('no such mailbox / message / attachment for this caller (other tenants see the same 404)'),
  E410: err('the mailbox has expired or was deleted'),
  E429: err('rate limited (Retry-After)'),
  E503: err('a dependency (Postgres, Redis) is unavailable: retry'),
};

export const PATHS: Record<string, JsonSchema> = {
  '/healthz': { get: { summary: 'Liveness: the process answers', tags: ['operations'], security: [], responses: { 200: ok('alive', ref('Health')) } } },
  '/readyz': {
    get: {
      summary: 'Readiness: Postgres and Redis answer', tags: ['operations'], security: [],
      responses: { 200: ok('ready', ref('Readiness')), 503: ok('a dependency failed (named in checks)', ref('Readiness')) },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (Bearer METRICS_TOKEN when configured)', tags: ['operations'], security: [{ metricsToken: [] }, {}],
      responses: { 200: { description: 'text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, 401: err('token required') },
    },
  },
  '/api/v1/openapi.json': { get: { summary: 'This document', tags: ['operations'], security: [], responses: { 200: ok('OpenAPI 3.1', { type: 'object' }) } } },
  '/api/v1/mailboxes': {
    post: {
      summary: 'Create a mailbox (anonymous, or owned with an API key)', tags: ['mailboxes'], security: [{}, { bearer: [] }],
      parameters: [q('ttl_minutes', { type: 'integer', minimum: 1 }, 'lifetime, capped by the plan'), q('domain', { type: 'string' }, 'one of MAIL_DOMAINS')],
      responses: { 201: ok('created', ref('MailboxCreated'), { Location: { schema: { type: 'string' } } }), ...errors(400, 401, 403, 429, 503) },
    },
    get: {
      summary: 'List mailboxes (API key: yours; mailbox token: that one)', tags: ['mailboxes'],
      parameters: [q('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'default 100'), q('include_inactive', { type: 'string', enum: ['true', 'false'] }, 'include expired/deleted')],
      responses: { 200: ok('mailboxes', { type: 'array', items: ref('Mailbox') }), ...errors(400, 401, 429, 503) },
    },
  },
  '/api/v1/mailboxes/{address}': {
    parameters: [ADDRESS],
    get: { summary: 'Get a mailbox', tags: ['mailboxes'], responses: { 200: ok('mailbox', ref('Mailbox')), ...errors(401, 403, 404, 410, 503) } },
    delete: { summary: 'Deactivate a mailbox at once', tags: ['mailboxes'], responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404, 503) } },
    patch: {
      summary: 'Change the TTL within the plan cap', tags: ['mailboxes'], ...other(4),
      parameters: [{ ...q('ttl_minutes', { type: 'integer', minimum: 1 }, 'new lifetime'), required: true }],
      responses: { 200: ok('updated mailbox with the new expires_at', ref('Mailbox')), ...errors(400, 401, 403, 404, 410) },
    },
  },
  '/api/v1/mailboxes/{address}/messages': {
    parameters: [ADDRESS],
    get: {
      summary: 'List messages, newest first; with wait=<seconds> block until one matches', tags: ['messages'],
      parameters: [
        q('limit', { type: 'integer', minimum: 1 }, 'page size, default 50, max MESSAGE_PAGE_MAX'),
        q('cursor', { type: 'string', pattern: '^[0-9]+$' }, 'from X-Next-Cursor of the previous page'),
        q('unread', { type: 'string', enum: ['true', 'false'] }, 'only unread messages'),
        { ...q('wait', { type: 'integer', minimum: 0 }, 'seconds to wait for a match (issue 3)'), ...other(3) },
        { ...q('subject', { type: 'string' }, 'substring or /regex/ filter for wait (issue 3)'), ...other(3) },
        { ...q('from', { type: 'string' }, 'substring or /regex/ filter for wait (issue 3)'), ...other(3) },
        { ...q('since', { type: 'string' }, 'cursor: only messages committed after it (issue 3)'), ...other(3) },
      ],
      responses: {
        200: ok('messages', { type: 'array', items: ref('MessageSummary') }, {
          'X-Next-Cursor': { schema: { type: 'string' }, description: 'present when the page is full' },
          Link: { schema: { type: 'string' }, description: 'rel="next"' },
        }),
        ...errors(400, 401, 403, 404, 410, 503),
      },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}': {
    parameters: [ADDRESS, ID],
    get: { summary: 'Get a parsed message (marks it read)', tags: ['messages'], responses: { 200: ok('message', ref('Message')), ...errors(401, 403, 404, 410, 503) } },
    delete: { summary: 'Delete a message (frees quota)', tags: ['messages'], responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404, 410, 503) } },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/raw': {
    parameters: [ADDRESS, ID],
    get: { summary: 'The message exactly as received', tags: ['messages'], responses: { 200: { description: 'RFC 5322 bytes', content: { 'message/rfc822': { schema: { type: 'string' } } } }, ...errors(401, 403, 404, 410, 503) } },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}': {
    parameters: [ADDRESS, ID, { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 0 }, description: 'attachments[].index' }],
    get: { summary: 'Download one attachment (decoded)', tags: ['messages'], responses: { 200: { description: 'attachment bytes with its Content-Type and Content-Disposition', content: { '*/*': { schema: { type: 'string', contentEncoding: 'binary' } } } }, ...errors(401, 403, 404, 410, 503) } },
  },
  '/api/v1/mailboxes/{address}/events': {
    parameters: [ADDRESS, q('token', { type: 'string' }, 'credential for EventSource (cannot set headers)'), q('since', { type: 'string' }, 'replay after this cursor')],
    get: {
      summary: 'Server-Sent Events: new_message (id = cursor), mailbox_expired; Last-Event-ID resumes', tags: ['streams'], ...other(3),
      responses: { 200: { description: 'text/event-stream; data is a StreamEvent', content: { 'text/event-stream': { schema: ref('StreamEvent') } } }, ...errors(401, 404, 410) },
    },
  },
  '/api/v1/mailboxes/{address}/ws': {
    parameters: [ADDRESS, q('token', { type: 'string' }, 'credential for browsers'), q('since', { type: 'string' }, 'replay after this cursor')],
    get: {
      summary: 'WebSocket upgrade: JSON StreamEvent frames; refused with 401 without a valid credential', tags: ['streams'], ...other(3),
      responses: { 101: { description: 'switching protocols' }, ...errors(401, 404, 410) },
    },
  },
  '/api/v1/mailboxes/{address}/tokens': {
    parameters: [ADDRESS],
    post: {
      summary: 'Mint a mailbox-scoped agent token (API key)', tags: ['access'], ...other(6),
      requestBody: { required: true, content: json(ref('TokenCreate')) },
      responses: { 201: ok('token (secret shown once)', ref('Token')), ...errors(400, 401, 403, 404, 429) },
    },
    get: { summary: 'List tokens (never the secret)', tags: ['access'], ...other(6), responses: { 200: ok('tokens', { type: 'array', items: ref('Token') }), ...errors(401, 403, 404) } },
  },
  '/api/v1/mailboxes/{address}/tokens/{jti}': {
    parameters: [ADDRESS, { name: 'jti', in: 'path', required: true, schema: { type: 'string' } }],
    delete: { summary: 'Revoke a token (open streams using it close within seconds)', tags: ['access'], ...other(6), responses: { 204: { description: 'revoked' }, ...errors(401, 403, 404) } },
  },
  '/api/v1/keys': {
    post: { summary: 'Create an API key (shown once)', tags: ['access'], ...other(6), responses: { 201: ok('key', ref('ApiKey')), ...errors(400, 401, 429) } },
    get: { summary: 'List API keys (prefix, last used)', tags: ['access'], ...other(6), responses: { 200: ok('keys', { type: 'array', items: ref('ApiKey') }), ...errors(401) } },
  },
  '/api/v1/keys/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    delete: { summary: 'Revoke an API key', tags: ['access'], ...other(6), responses: { 204: { description: 'revoked' }, ...errors(401, 404) } },
  },
  '/api/v1/ingest/ses': {
    post: {
      summary: 'Amazon SNS HTTP(S) endpoint for SES inbound: signed Notification / SubscriptionConfirmation', tags: ['ingress'], security: [], ...other(5),
      requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
      responses: { 200: { description: 'accepted (enqueued) or confirmed' }, ...errors(400, 403, 503) },
    },
  },
};
