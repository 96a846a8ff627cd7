/** Small builders for the OpenAPI document (src/api/openapi.ts); no state. */
export type JsonSchema = { [k: string]: unknown };

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
export const list = (item: string) => ({ type: 'array', items: ref(item) });

/** Schema builders: a closed object (every property required unless named), timestamps, nullables. */
export const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
export const ts = { type: 'string', format: 'date-time' } as const;
export const nullable = (s: JsonSchema): JsonSchema => ({ ...s, type: [s.type as string, 'null'] });
export const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Headers every /api/ response that passed the rate limiter carries (absent with RATE_LIMIT_ENABLED=false). */
export const RATE_HEADERS = {
  'RateLimit-Limit': header('RateLimit-Limit'),
  'RateLimit-Remaining': header('RateLimit-Remaining'),
  'RateLimit-Reset': header('RateLimit-Reset'),
};

export const ok = (description: string, schema: JsonSchema, headers: JsonSchema = RATE_HEADERS) => ({
  description,
  content: json(schema),
  headers,
});
export const noContent = (description: string) => ({ description, headers: RATE_HEADERS });
export const err = (description: string, headers: JsonSchema = {}) => ({
  description,
  headers: { 'X-Request-Id': header('X-Request-Id'), ...headers },
  content: json(ref('Error')),
});
export const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
/** For operations that answer no 4xx of their own: what the HTTP server answers for any path. */
export const UNREADABLE = { '4XX': { $ref: '#/components/responses/EUnreadable' } };
/** What every operation behind authentication and the rate limiter can answer besides its own errors. */
export const AUTHED = [401, 410, 429, 500, 503];
export const q = (name: string, schema: JsonSchema, description: string, required = false) => ({
  name,
  in: 'query',
  required,
  schema,
  description,
});

export const ADDRESS = {
  name: 'address',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'mailbox address (URL-encoded), e.g. k3x9%40mailwright.test',
};
export const ULID = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' };
export const MESSAGE_ID = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description:
    'message id (ULID; a connected mailbox: the opaque id its list gives); anything else is a 404 message_not_found',
};

/** Who may call what (components.securitySchemes names). */
export const SEC = {
  none: [] as JsonSchema[],
  apiKey: [{ apiKey: [] }],
  anyCredential: [{ apiKey: [] }, { mailboxToken: [] }],
  optional: [{}, { apiKey: [] }],
  stream: [{ apiKey: [] }, { mailboxToken: [] }, { tokenQuery: [] }],
};
