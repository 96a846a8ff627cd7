import { ADDRESS, err, q, SEC, type JsonSchema } from './helpers.js';

const STREAM_PARAMS = [
  ADDRESS,
  q(
    'token',
    { type: 'string' },
    'the credential (mailbox token or API key) for clients that cannot set headers; accepted ONLY on /events and /ws',
  ),
  q(
    'since',
    { type: 'string', pattern: '^([0-9]{1,15}|[1-9][0-9]{0,9}\\.[0-9]{1,10})$' },
    'replay every message committed after this cursor before going live (Last-Event-ID wins for SSE); a connected mailbox: <uidvalidity>.<uid> of its INBOX, the higher UIDs replayed from IMAP (tag: 400 tag_not_applicable)',
  ),
  q(
    'tag',
    { type: 'string', minLength: 1, maxLength: 64 },
    'only new_message frames of messages with this tag (box+tag@…, compared lower-cased); the cursors of the others are skipped',
  ),
];
const STREAM_ERRORS = (extra: string) => ({
  400: err(
    `unknown query parameter (only token, since and tag) or invalid since / Last-Event-ID (invalid_cursor) or tag (invalid_tag)${extra}`,
  ),
  401: err('no credential (a stream always needs one), or an invalid, revoked or expired one'),
  403: err('the mailbox token lacks read (insufficient_permission)'),
  404: err('no such mailbox for this caller (mailbox_not_found)'),
  410: err('the mailbox has ended (mailbox_expired, mailbox_deleted)'),
  429: err(
    'this credential (API key or mailbox token) already holds STREAM_MAX_PER_CREDENTIAL (default 20) open streams, SSE and WS together, on this web process (too_many_streams): close one first. Counted per process: N web processes allow N times the value. ' +
      'Or rate limited (rate_limited, with Retry-After): opening a stream counts one request against the per-IP and per-credential budgets',
  ),
  503: err(
    'this process holds STREAM_MAX_PER_PROCESS streams, or a dependency is unavailable: retry (service_unavailable)',
  ),
});
const FRAMES =
  'Frames (JSON; every frame and message type, with schemas, is in the AsyncAPI document /api/v1/asyncapi.json): ready {type,cursor} once after the replay; new_message {type,cursor,message} per committed message in commit order; mailbox_expired {type,reason} then the stream ends. ' +
  'A stream opened with a mailbox token ends when that token is revoked or expires; one opened with an API key ends when that key is revoked. Opening a stream counts against the rate limits; an open stream does not.';
const FRAMES_DOC = { description: 'the frames: AsyncAPI 3.0 document', url: '/api/v1/asyncapi.json' };

/** Real-time delivery: SSE, WebSocket and the viewer page (src/stream/sse.ts, websocket.ts, frames.ts, viewer-page.ts). */
export const STREAM_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/events': {
    get: {
      operationId: 'streamMailboxEvents',
      externalDocs: FRAMES_DOC,
      summary: 'Server-Sent Events: gap-free, resumable stream of the mailbox (token needs read)',
      tags: ['streams'],
      security: SEC.stream,
      parameters: [
        ...STREAM_PARAMS,
        {
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          schema: { type: 'string', pattern: '^([0-9]{1,15}|[1-9][0-9]{0,9}\\.[0-9]{1,10})$' },
          description:
            'sent by EventSource on reconnect: resume after this cursor (a connected mailbox: <uidvalidity>.<uid>)',
        },
      ],
      description:
        `${FRAMES} SSE encoding: the stream starts with "retry: 2000" and ": connected"; each frame is "id: <cursor>" (ready and new_message only), "event: <type>", "data: <JSON>". ` +
        'Keep-alive: a ": ping" comment every STREAM_PING_MS (default 25000). The last event before the server closes is mailbox_expired, or token_revoked / token_expired / api_key_revoked {type}, or reconnect {type,reason: shutdown|overloaded|error} (resume with Last-Event-ID).',
      responses: {
        200: {
          description:
            'the event stream (Cache-Control: no-cache, no-transform; X-Accel-Buffering: no); data of each event is a StreamFrame',
          content: {
            'text/event-stream': {
              schema: { type: 'string', description: 'SSE: id / event / data lines; see the AsyncAPI document' },
            },
          },
        },
        ...STREAM_ERRORS(''),
      },
    },
  },
  '/api/v1/mailboxes/{address}/ws': {
    get: {
      operationId: 'streamMailboxWebSocket',
      externalDocs: FRAMES_DOC,
      summary: 'WebSocket stream of the mailbox (token needs read); same frames as SSE',
      tags: ['streams'],
      security: SEC.stream,
      parameters: STREAM_PARAMS,
      description:
        `${FRAMES} WebSocket: one JSON text frame per StreamFrame; {"type":"ping"} every STREAM_PING_MS; messages from the client are ignored (max 4 KiB). ` +
        'The credential and mailbox are checked BEFORE the upgrade: refusals are plain HTTP responses with the JSON error body and Connection: close. ' +
        'Close codes: 1000 mailbox ended, 1008 token_revoked / token_expired / api_key_revoked, 1009 a client message over 4 KiB, 1011 error, 1012 server restart, 1013 overloaded (client fell behind): resume with ?since=<last cursor>. ' +
        'A GET without Upgrade: websocket is an ordinary request and answers 404 not_found.',
      responses: {
        101: {
          description: 'Switching Protocols; then JSON text frames (the AsyncAPI document, channel mailboxWebSocket)',
        },
        ...STREAM_ERRORS('; a GET without an Upgrade header is 404 not_found'),
      },
    },
  },
  '/streams/viewer': {
    get: {
      operationId: 'getStreamViewer',
      summary: 'A minimal live inbox page (EventSource on /events; the token is typed into the page, never in the URL)',
      tags: ['streams'],
      security: SEC.none,
      responses: {
        200: { description: 'HTML page (CSP, no-referrer)', content: { 'text/html': { schema: { type: 'string' } } } },
        401: { $ref: '#/components/responses/E401' },
      },
    },
  },
  '/streams/viewer.js': {
    get: {
      operationId: 'getStreamViewerScript',
      summary: "The viewer page's script",
      tags: ['streams'],
      security: SEC.none,
      responses: {
        200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } },
        401: { $ref: '#/components/responses/E401' },
      },
    },
  },
};
