/** Small builders for the OpenAPI document (src/api/openapi.ts); no state. */
export type JsonSchema = { [k: string]: unknown };

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Headers every /api/ response that passed the rate limiter carries (absent with RATE_LIMIT_ENABLED=false). */
export const RATE_HEADERS = { 'RateLimit-Limit': header('RateLimit-Limit'), 'RateLimit-Remaining': header('RateLimit-Remaining'), 'RateLimit-Reset': header('RateLimit-Reset') };

export const ok = (description: string, schema: JsonSchema, headers: JsonSchema = RATE_HEADERS) => ({ description, content: json(schema), headers });
export const noContent = (description: string) => ({ description, headers: RATE_HEADERS });
export const err = (description: string, headers: JsonSchema = {}) => ({
  description,
  headers: { 'X-Request-Id': header('X-Request-Id'), ...headers },
  content: json(ref('Error')),
});
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
/** What every operation behind authentication and the rate limiter can answer besides its own errors. */
export const AUTHED = [401, 410, 429, 500, 503];
export const q = (name: string, schema: JsonSchema, description: string, required = false) => ({ name, in: 'query', required, schema, description });

export const ADDRESS = { name: 'address', in: 'path', required: true, schema: { type: 'string' }, description: 'mailbox address (URL-encoded), e.g. k3x9%40mailwright.test' };
export const ULID = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' };
export const MESSAGE_ID = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'message id (ULID); anything else is a 404 message_not_found' };

/** Who may call what (components.securitySchemes names). */
export const SEC = {
  none: [] as JsonSchema[],
  apiKey: [{ apiKey: [] }],
  anyCredential: [{ apiKey: [] }, { mailboxToken: [] }],
  optional: [{}, { apiKey: [] }],
  stream: [{ apiKey: [] }, { mailboxToken: [] }, { tokenQuery: [] }],
};

export const ERROR_RESPONSES = {
  E400: err('invalid request: unknown query parameter (unknown_parameter), bad value (invalid_<name>), invalid JSON or body (invalid_json, invalid_body), unexpected body (unexpected_body), a field given as a query parameter and in the body with different values (conflicting_parameters), a bad or reserved local_part (invalid_local_part, reserved_local_part)'),
  E401: err('missing, malformed, invalid, revoked or expired credential (code unauthorized)'),
  E403: err('the credential lacks the permission (insufficient_permission, api_key_required, token_cannot_create, permission_escalation) or a plan/limit was reached (mailbox_limit_reached, token_limit_reached, key_limit_reached)'),
  E404: err('no such mailbox / message / attachment / token / key for this caller: another tenant\'s object answers exactly the same 404 (mailbox_not_found, message_not_found, attachment_not_found, token_not_found, api_key_not_found)'),
  E410: err('the mailbox has ended (mailbox_expired, mailbox_deleted); also answered for any request made with a mailbox token whose mailbox has ended'),
  E413: err('request body larger than allowed (payload_too_large): 64 KiB for JSON bodies, SES_MAX_BODY_BYTES for SNS'),
  E429: err('rate limited (rate_limited): per client IP, per credential, and for mailbox creation', {
    'Retry-After': { ...header('Retry-After'), required: true },
    'RateLimit-Limit': { ...header('RateLimit-Limit'), required: true },
    'RateLimit-Remaining': { ...header('RateLimit-Remaining'), required: true },
    'RateLimit-Reset': { ...header('RateLimit-Reset'), required: true },
  }),
  E500: err('unexpected failure (internal_error); the message never carries details'),
  E503: err('a dependency (Postgres, Redis) is unavailable or a limit of this process was reached: retry (service_unavailable)'),
};

export const HEADERS = {
  'X-Request-Id': { description: 'the request id (echoes a valid X-Request-Id request header, else a ULID); also in error.request_id', schema: { type: 'string' } },
  'RateLimit-Limit': { description: 'points of the tightest budget that applied (draft RateLimit header fields)', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'RateLimit-Remaining': { description: 'points left in that budget', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'RateLimit-Reset': { description: 'seconds until that budget refills', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'string', pattern: '^[0-9]+$' } },
};
