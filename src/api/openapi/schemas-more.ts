import { ref, ULID, type JsonSchema } from './helpers.js';

/** Wire shapes of tokens, API keys (src/api/routes/tokens.ts, keys.ts), stream frames (src/stream/frames.ts) and SES replies. */
const ts = { type: 'string', format: 'date-time' } as const;
const tsOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object', additionalProperties: false, required, properties,
});
const PERMISSION = { type: 'string', enum: ['read', 'send', 'manage'] };
const CURSOR = { type: 'string', pattern: '^[0-9]+$', description: 'per-mailbox commit sequence' };

const TOKEN: Record<string, JsonSchema> = {
  jti: { type: 'string', description: 'token id; use in DELETE .../tokens/{jti}' },
  name: { type: ['string', 'null'] },
  permissions: { type: 'array', items: PERMISSION, minItems: 1 },
  expires_at: ts,
  is_revoked: { type: 'boolean' },
  revoked_at: tsOrNull,
  created_at: ts,
  last_used_at: tsOrNull,
};
const API_KEY: Record<string, JsonSchema> = {
  id: { type: 'string', format: 'uuid' },
  prefix: { type: 'string', pattern: '^mw_[0-9a-f]{8}$', description: 'the visible start of the key' },
  name: { type: ['string', 'null'] },
  created_at: ts,
  last_used_at: tsOrNull,
  revoked_at: tsOrNull,
};

export const MORE_SCHEMAS: Record<string, JsonSchema> = {
  TokenCreate: {
    ...obj({
      name: { type: 'string', minLength: 1, maxLength: 100, description: 'trimmed' },
      permissions: { type: 'array', items: PERMISSION, minItems: 1, maxItems: 3, description: 'a mailbox token may only grant permissions it holds itself (else 403 permission_escalation)' },
      ttl_minutes: { type: 'integer', minimum: 1, description: 'default TOKEN_DEFAULT_TTL_MINUTES (1440), capped by TOKEN_MAX_TTL_MINUTES (43200), by the mailbox\'s expiry and by the parent token\'s expiry' },
    }, ['permissions']),
    description: 'strict: any other field (mailbox_id, expires_at, ...) is a 400 invalid_body',
  },
  Token: obj(TOKEN),
  TokenCreated: obj({ ...TOKEN, token: { type: 'string', description: 'the mailbox token (JWT); shown only in this response' } }),
  ApiKeyCreate: {
    ...obj({ name: { type: 'string', minLength: 1, maxLength: 100, description: 'trimmed' } }, []),
    description: 'strict: any other field (user_id, plan, ...) is a 400 invalid_body; an empty body is {}',
  },
  ApiKey: obj(API_KEY),
  ApiKeyCreated: obj({ ...API_KEY, key: { type: 'string', pattern: '^mw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$', description: 'the API key; shown only in this response' } }),
  StreamMessageSummary: obj({
    id: { ...ULID },
    from_address: { type: ['string', 'null'] },
    subject: { type: ['string', 'null'] },
    received_at: tsOrNull,
    has_attachments: { type: 'boolean' },
    tag: { type: ['string', 'null'], description: 'the recipient\'s tag: mail to box+signup@domain is stored in box@domain with tag "signup" (ADDRESS_TAG_SEPARATOR); null: none' },
  }, ['id', 'from_address', 'subject', 'received_at', 'has_attachments']),
  StreamFrame: {
    description: 'one WebSocket text frame, or the data of one SSE event (whose event name is the type)',
    oneOf: [
      { ...obj({ type: { const: 'ready' }, cursor: CURSOR }), description: 'sent once after the replay of everything after ?since= / Last-Event-ID; live frames follow' },
      { ...obj({ type: { const: 'new_message' }, cursor: CURSOR, message: ref('StreamMessageSummary') }), description: 'a committed message, in commit order, exactly once per stream; fetch the full message by id' },
      { ...obj({ type: { const: 'mailbox_expired' }, reason: { type: 'string', enum: ['expired', 'deleted'] } }), description: 'the mailbox ended; the stream closes (WS close 1000)' },
      { ...obj({ type: { const: 'ping' } }), description: 'WebSocket only, every STREAM_PING_MS (SSE sends a ": ping" comment)' },
      { ...obj({ type: { const: 'token_revoked' } }), description: 'SSE only, last event: the mailbox token was revoked (WS closes 1008 "token_revoked")' },
      { ...obj({ type: { const: 'api_key_revoked' } }), description: 'SSE only, last event: the API key the stream was opened with was revoked (WS closes 1008 "api_key_revoked")' },
      { ...obj({ type: { const: 'token_expired' } }), description: 'SSE only, last event: the mailbox token expired (WS closes 1008 "token_expired")' },
      { ...obj({ type: { const: 'reconnect' }, reason: { type: 'string', enum: ['shutdown', 'overloaded', 'error'] } }), description: 'SSE only, last event: reconnect with Last-Event-ID (WS closes 1012 shutdown, 1013 overloaded, 1011 error)' },
    ],
  },
  SesReply: {
    description: 'what SNS receives; any 2xx stops its retries',
    oneOf: [
      obj({ status: { const: 'queued' }, ingress_id: { type: 'string', pattern: '^ses-' } }),
      obj({ status: { const: 'not_delivered' }, reason: { type: 'string', enum: ['not_a_receipt', 's3_action', 'no_inline_content', 'no_local_recipients'] } }),
      obj({ status: { const: 'subscription_confirmed' } }),
      obj({ status: { const: 'unsubscribe_logged' } }),
    ],
  },
};
