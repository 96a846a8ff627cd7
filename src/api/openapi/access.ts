import {
  ADDRESS,
  AUTHED,
  errors,
  json,
  list,
  noContent,
  nullable,
  obj,
  ok,
  ref,
  SEC,
  ts,
  type JsonSchema,
} from './helpers.js';

const noStore = (description: string, schema: JsonSchema) => {
  const r = ok(description, schema);
  return { ...r, headers: { ...r.headers, 'Cache-Control': { required: true, schema: { const: 'no-store' } } } };
};
/** Mailbox tokens and API keys (src/api/routes/tokens.ts, keys.ts). */
export const ACCESS_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/tokens': {
    parameters: [ADDRESS],
    post: {
      operationId: 'createToken',
      summary:
        "Mint a mailbox token (needs manage: the owner's API key or a token with manage); the secret is shown once",
      tags: ['access'],
      security: SEC.anyCredential,
      description:
        'At most TOKENS_PER_MAILBOX_MAX (default 100) active tokens per mailbox (403 token_limit_reached). No query parameters.',
      requestBody: { required: true, content: json(ref('TokenCreate')) },
      responses: {
        201: noStore('the token row and the JWT', ref('TokenCreated')),
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
    },
    get: {
      operationId: 'listTokens',
      summary:
        "List the mailbox's tokens, revoked and expired included (needs manage; never the secret; also for an ended mailbox)",
      tags: ['access'],
      security: SEC.anyCredential,
      responses: { 200: ok('tokens', list('Token')), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/tokens/{jti}': {
    parameters: [
      ADDRESS,
      { name: 'jti', in: 'path', required: true, schema: { type: 'string' }, description: 'Token.jti' },
    ],
    delete: {
      operationId: 'revokeToken',
      summary:
        'Revoke a token (needs manage; repeating it is a 204 too): it is refused from then on and open streams opened with it close',
      tags: ['access'],
      security: SEC.anyCredential,
      description: 'Takes no body (400 unexpected_body).',
      responses: { 204: noContent('revoked'), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
  '/api/v1/keys': {
    post: {
      operationId: 'createApiKey',
      summary:
        "Create an API key for the calling key's user (an API key is required; a mailbox token is 403 api_key_required); shown once",
      tags: ['access'],
      security: SEC.apiKey,
      description:
        'At most API_KEYS_PER_USER_MAX (default 20) active keys (403 key_limit_reached). The body may be absent. No query parameters.',
      requestBody: { required: false, content: json(ref('ApiKeyCreate')) },
      responses: {
        201: noStore('the key record and the key', ref('ApiKeyCreated')),
        ...errors(400, 403, 413, ...AUTHED),
      },
    },
    get: {
      operationId: 'listApiKeys',
      summary: "List the user's API keys, revoked included (prefix only, never the key)",
      tags: ['access'],
      security: SEC.apiKey,
      responses: { 200: ok('keys', list('ApiKey')), ...errors(400, 403, ...AUTHED) },
    },
  },
  '/api/v1/keys/{id}': {
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string', format: 'uuid' },
        description: "ApiKey.id; another user's key is a 404",
      },
    ],
    delete: {
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key (repeating it is a 204 too); the key is refused from then on',
      tags: ['access'],
      security: SEC.apiKey,
      description:
        'Takes no body (400 unexpected_body). SSE and WebSocket streams opened with the key are closed in every web process (SSE event api_key_revoked, WS close 1008 "api_key_revoked").',
      responses: { 204: noContent('revoked'), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
};

const PERMISSION = { type: 'string', enum: ['read', 'send', 'manage'] };

const TOKEN: Record<string, JsonSchema> = {
  jti: { type: 'string', description: 'token id; use in DELETE .../tokens/{jti}' },
  name: { type: ['string', 'null'] },
  permissions: { type: 'array', items: PERMISSION, minItems: 1 },
  expires_at: ts,
  is_revoked: { type: 'boolean' },
  revoked_at: nullable(ts),
  created_at: ts,
  last_used_at: nullable(ts),
  max_sends_per_day: {
    type: ['integer', 'null'],
    minimum: 0,
    description: "the token's own rolling 24 h cap of accepted recipients (outbound); null: only the plan's",
  },
};
const API_KEY: Record<string, JsonSchema> = {
  id: { type: 'string', format: 'uuid' },
  prefix: { type: 'string', pattern: '^mw_[0-9a-f]{8}$', description: 'the visible start of the key' },
  name: { type: ['string', 'null'] },
  created_at: ts,
  last_used_at: nullable(ts),
  revoked_at: nullable(ts),
};

/** Wire shapes of tokens and API keys. */
export const ACCESS_SCHEMAS: Record<string, JsonSchema> = {
  TokenCreate: {
    ...obj(
      {
        name: { type: 'string', minLength: 1, maxLength: 100, description: 'trimmed' },
        permissions: {
          type: 'array',
          items: PERMISSION,
          minItems: 1,
          maxItems: 3,
          description: 'a mailbox token may only grant permissions it holds itself (else 403 permission_escalation)',
        },
        ttl_minutes: {
          type: 'integer',
          minimum: 1,
          description:
            "default TOKEN_DEFAULT_TTL_MINUTES (1440), capped by TOKEN_MAX_TTL_MINUTES (43200), by the mailbox's expiry and by the parent token's expiry",
        },
        max_sends_per_day: {
          type: 'integer',
          minimum: 0,
          maximum: 2147483647,
          description:
            "outbound: this token's own cap of accepted recipients per rolling 24 h, counted by the token (0: it may not send); the plan's quota applies too",
        },
      },
      ['permissions'],
    ),
    description: 'strict: any other field (mailbox_id, expires_at, ...) is a 400 invalid_body',
  },
  Token: obj(TOKEN),
  TokenCreated: obj({
    ...TOKEN,
    token: { type: 'string', description: 'the mailbox token (JWT); shown only in this response' },
  }),
  ApiKeyCreate: {
    ...obj({ name: { type: 'string', minLength: 1, maxLength: 100, description: 'trimmed' } }, []),
    description: 'strict: any other field (user_id, plan, ...) is a 400 invalid_body; an empty body is {}',
  },
  ApiKey: obj(API_KEY),
  ApiKeyCreated: obj({
    ...API_KEY,
    key: {
      type: 'string',
      pattern: '^mw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$',
      description: 'the API key; shown only in this response',
    },
  }),
};
