import { ADDRESS, err, nullable, obj, q, ref, SEC, ts, ULID, type JsonSchema } from './helpers.js';

const STREAM_PARAMS = [
  ADDRESS,
  q('token', { type: 'string' }, 'the credential (mailbox token or API key) for clients that cannot set headers; accepted ONLY on /events and /ws'),
  q('since', { type: 'string', pattern: '^[0-9]{1,15}$' }, 'replay every message committed after this cursor before going live (Last-Event-ID wins for SSE)'),
];
const STREAM_ERRORS = (extra: string) => ({
  400: err(`unknown query parameter (only token and since) or invalid since / Last-Event-ID (invalid_cursor)${extra}`),
  401: err('no credential (a stream always needs one), or an invalid, revoked or expired one'),
  403: err('the mailbox token lacks read (insufficient_permission)'),
  404: err('no such mailbox for this caller (mailbox_not_found)'),
  410: err('the mailbox has ended (mailbox_expired, mailbox_deleted)'),
  429: err('this credential (API key or mailbox token) already holds STREAM_MAX_PER_CREDENTIAL (default 20) open streams, SSE and WS together, on this web process (too_many_streams): close one first. Counted per process: N web processes allow N times the value'),
  503: err('this process holds STREAM_MAX_PER_PROCESS streams, or a dependency is unavailable: retry (service_unavailable)'),
});
const FRAMES = 'Frames (JSON, components.schemas.StreamFrame): ready {type,cursor} once after the replay; new_message {type,cursor,message} per committed message in commit order; mailbox_expired {type,reason} then the stream ends. ' +
  'A stream opened with a mailbox token ends when that token is revoked or expires; one opened with an API key ends when that key is revoked. Streams are not rate-limited and are served ahead of the Koa app.';

/** Real-time delivery: SSE, WebSocket and the viewer page (src/stream/sse.ts, websocket.ts, frames.ts, viewer-page.ts). */
export const STREAM_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/events': {
    get: {
      operationId: 'streamMailboxEvents',
      summary: 'Server-Sent Events: gap-free, resumable stream of the mailbox (token needs read)', tags: ['streams'], security: SEC.stream,
      parameters: [...STREAM_PARAMS, { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[0-9]{1,15}$' }, description: 'sent by EventSource on reconnect: resume after this cursor' }],
      description: `${FRAMES} SSE encoding: the stream starts with "retry: 2000" and ": connected"; each frame is "id: <cursor>" (not for mailbox_expired), "event: <type>", "data: <JSON>". ` +
        'Keep-alive: a ": ping" comment every STREAM_PING_MS (default 25000). The last event before the server closes is mailbox_expired, or token_revoked / token_expired / api_key_revoked {type}, or reconnect {type,reason: shutdown|overloaded|error} (resume with Last-Event-ID).',
      responses: {
        200: {
          description: 'the event stream (Cache-Control: no-cache, no-transform; X-Accel-Buffering: no); data of each event is a StreamFrame',
          content: { 'text/event-stream': { schema: { type: 'string' }, 'x-mailwright-event-data': ref('StreamFrame') } },
        },
        ...STREAM_ERRORS(''),
      },
    },
  },
  '/api/v1/mailboxes/{address}/ws': {
    get: {
      operationId: 'streamMailboxWebSocket',
      summary: 'WebSocket stream of the mailbox (token needs read); same frames as SSE', tags: ['streams'], security: SEC.stream,
      parameters: STREAM_PARAMS,
      description: `${FRAMES} WebSocket: one JSON text frame per StreamFrame; {"type":"ping"} every STREAM_PING_MS; messages from the client are ignored (max 4 KiB). ` +
        'The credential and mailbox are checked BEFORE the upgrade: refusals are plain HTTP responses with the JSON error body (without request_id) and Connection: close. ' +
        'Close codes: 1000 mailbox ended, 1008 token_revoked / token_expired / api_key_revoked, 1011 error, 1012 server restart, 1013 overloaded (client fell behind): resume with ?since=<last cursor>. ' +
        'A GET without Upgrade: websocket is an ordinary request and answers 404 not_found.',
      'x-mailwright-close-codes': { 1000: 'mailbox_expired', 1008: 'token_revoked | token_expired | api_key_revoked', 1011: 'error', 1012: 'shutdown', 1013: 'overloaded' },
      responses: {
        101: { description: 'Switching Protocols; then StreamFrame JSON text frames', 'x-mailwright-frame': ref('StreamFrame') },
        ...STREAM_ERRORS('; a GET without an Upgrade header is 404 not_found'),
      },
    },
  },
  '/streams/viewer': {
    get: { operationId: 'getStreamViewer', summary: 'A minimal live inbox page (EventSource on /events; the token is typed into the page, never in the URL)', tags: ['streams'], security: SEC.none, responses: { 200: { description: 'HTML page (CSP, no-referrer)', content: { 'text/html': { schema: { type: 'string' } } } }, 401: { $ref: '#/components/responses/E401' } } },
  },
  '/streams/viewer.js': {
    get: { operationId: 'getStreamViewerScript', summary: 'The viewer page\'s script', tags: ['streams'], security: SEC.none, responses: { 200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } }, 401: { $ref: '#/components/responses/E401' } } },
  },
};

const CURSOR = { type: 'string', pattern: '^[0-9]+$', description: 'per-mailbox commit sequence' };

/** The frames of both transports (src/stream/frames.ts); the AsyncAPI document reuses them. */
export const STREAM_SCHEMAS: Record<string, JsonSchema> = {
  StreamMessageSummary: obj({
    id: { ...ULID },
    from_address: { type: ['string', 'null'] },
    subject: { type: ['string', 'null'] },
    received_at: nullable(ts),
    has_attachments: { type: 'boolean' },
  }),
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
};
