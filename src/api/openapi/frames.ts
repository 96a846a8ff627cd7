import { nullable, obj, ref, ts, ULID, type JsonSchema } from './helpers.js';

/**
 * The frames both stream transports carry (src/stream/frames.ts, sse.ts, websocket.ts): the same JSON is a
 * WebSocket text frame or the `data:` of an SSE event whose `event:` is the frame's type. Plain JSON Schema
 * that is valid both as AsyncAPI schema (draft-07 superset) and as JSON Schema 2020-12.
 */
const CURSOR = {
  type: 'string',
  pattern: '^[0-9]+(\\.[0-9]+)?$',
  description:
    "the resume point (?since=, Last-Event-ID): a hosted mailbox's commit sequence, or <uidvalidity>.<uid> of a connected mailbox's INBOX",
};
const frame = (type: string, description: string, more: Record<string, JsonSchema> = {}): JsonSchema => ({
  ...obj({ type: { type: 'string', const: type }, ...more }),
  description,
});

export const FRAME_SCHEMAS: Record<string, JsonSchema> = {
  StreamMessageSummary: obj(
    {
      id: { ...ULID, description: 'the message id (ULID): GET /api/v1/mailboxes/{address}/messages/{id}' },
      from_address: { type: ['string', 'null'] },
      subject: { type: ['string', 'null'] },
      received_at: nullable(ts),
      has_attachments: { type: 'boolean' },
      tag: {
        type: ['string', 'null'],
        description:
          'the recipient\'s tag: mail to box+signup@domain is stored in box@domain with tag "signup" (ADDRESS_TAG_SEPARATOR); null: none',
      },
    },
    ['id', 'from_address', 'subject', 'received_at', 'has_attachments'],
  ),
  ConnectedStreamMessageSummary: obj({
    id: {
      type: 'string',
      pattern: '^[1-9][0-9]*\\.[1-9][0-9]*\\.[A-Za-z0-9_-]+$',
      description: 'opaque (folder, UIDVALIDITY and UID): GET /api/v1/mailboxes/{address}/messages/{id}',
    },
    from_address: { type: ['string', 'null'] },
    subject: { type: ['string', 'null'] },
    received_at: nullable(ts),
    is_read: { type: 'boolean', description: '\\Seen on the server' },
    has_attachments: { type: 'boolean' },
  }),
  ReadyFrame: frame(
    'ready',
    'sent once, first, after the replay of everything committed after ?since= / Last-Event-ID; live frames follow. cursor is where the stream stands',
    { cursor: CURSOR },
  ),
  NewMessageFrame: frame(
    'new_message',
    "a committed message, in commit order, exactly once per stream; fetch the full message by id. A connected mailbox: a new UID of its INBOX (found by the worker's IDLE watcher), in UID order, its message exactly the connected list item",
    { cursor: CURSOR, message: { oneOf: [ref('StreamMessageSummary'), ref('ConnectedStreamMessageSummary')] } },
  ),
  MailboxExpiredFrame: frame(
    'mailbox_expired',
    'the mailbox ended; the stream closes (SSE: last event, without id; WebSocket: close 1000)',
    { reason: { type: 'string', enum: ['expired', 'deleted'] } },
  ),
  PingFrame: frame(
    'ping',
    'WebSocket only: keep-alive every STREAM_PING_MS (default 25000); SSE sends a ": ping" comment instead',
  ),
  TokenRevokedFrame: frame(
    'token_revoked',
    'SSE only, last event: the mailbox token the stream was opened with was revoked (WebSocket: close 1008 reason "token_revoked")',
  ),
  TokenExpiredFrame: frame(
    'token_expired',
    'SSE only, last event: the mailbox token the stream was opened with expired (WebSocket: close 1008 reason "token_expired")',
  ),
  ApiKeyRevokedFrame: frame(
    'api_key_revoked',
    'SSE only, last event: the API key the stream was opened with was revoked (WebSocket: close 1008 reason "api_key_revoked")',
  ),
  ReconnectFrame: frame(
    'reconnect',
    'SSE only, last event: reconnect and resume with Last-Event-ID (WebSocket: close 1012 shutdown, 1013 overloaded, 1011 error; resume with ?since=)',
    {
      reason: { type: 'string', enum: ['shutdown', 'overloaded', 'error'] },
    },
  ),
};

/** Every frame either transport can send. */
export const STREAM_FRAME = {
  description: 'one WebSocket text frame, or the data of one SSE event (whose event name is the type)',
  oneOf: [
    'ReadyFrame',
    'NewMessageFrame',
    'MailboxExpiredFrame',
    'PingFrame',
    'TokenRevokedFrame',
    'TokenExpiredFrame',
    'ApiKeyRevokedFrame',
    'ReconnectFrame',
  ].map(ref),
};
