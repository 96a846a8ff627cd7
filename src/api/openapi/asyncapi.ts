import { FRAME_SCHEMAS, STREAM_FRAME } from './frames.js';
import type { JsonSchema } from './helpers.js';

/** Where the web role is reached: PUBLIC_URL when set, else the Host the document was asked on. */
export interface AsyncApiOrigin {
  host: string;
  secure: boolean;
  pathname?: string;
}

const MESSAGES: Record<string, { name: string; summary: string; payload: string }> = {
  ready: { name: 'ready', summary: 'the stream is live from this cursor', payload: 'ReadyFrame' },
  newMessage: { name: 'new_message', summary: 'a message was committed to the mailbox', payload: 'NewMessageFrame' },
  mailboxExpired: { name: 'mailbox_expired', summary: 'the mailbox ended; last frame', payload: 'MailboxExpiredFrame' },
  ping: { name: 'ping', summary: 'keep-alive (WebSocket)', payload: 'PingFrame' },
  tokenRevoked: {
    name: 'token_revoked',
    summary: 'the mailbox token was revoked; last event (SSE)',
    payload: 'TokenRevokedFrame',
  },
  tokenExpired: {
    name: 'token_expired',
    summary: 'the mailbox token expired; last event (SSE)',
    payload: 'TokenExpiredFrame',
  },
  apiKeyRevoked: {
    name: 'api_key_revoked',
    summary: 'the API key was revoked; last event (SSE)',
    payload: 'ApiKeyRevokedFrame',
  },
  reconnect: {
    name: 'reconnect',
    summary: 'the server ends the stream: resume with Last-Event-ID (SSE)',
    payload: 'ReconnectFrame',
  },
};
const SSE_MESSAGES = [
  'ready',
  'newMessage',
  'mailboxExpired',
  'tokenRevoked',
  'tokenExpired',
  'apiKeyRevoked',
  'reconnect',
];
const WS_MESSAGES = ['ready', 'newMessage', 'mailboxExpired', 'ping'];

/** WebSocket close codes and the reason string sent with each (src/stream/frames.ts WS_CLOSE). */
export const WS_CLOSE_CODES = {
  1000: 'mailbox_expired: the mailbox ended (after the mailbox_expired frame)',
  1008: 'token_revoked | token_expired | api_key_revoked: the credential the stream was opened with ended',
  1009: 'a client message over 4 KiB',
  1011: 'error: a server-side failure; resume with ?since=<last cursor>',
  1012: 'shutdown: the server restarts; resume with ?since=<last cursor>',
  1013: 'overloaded: the client fell behind; resume with ?since=<last cursor>',
};

const QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    token: {
      type: 'string',
      description:
        'the credential (mailbox token or API key) for clients that cannot set headers (EventSource, browser WebSocket)',
    },
    since: {
      type: 'string',
      pattern: '^([0-9]{1,15}|[1-9][0-9]{0,9}\\.[0-9]{1,10})$',
      description:
        'replay every message committed after this cursor before going live (a connected mailbox: <uidvalidity>.<uid>, replayed from IMAP)',
    },
    tag: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description:
        'only new_message frames of messages with this tag (box+tag@…, compared lower-cased); the cursors of the others are skipped',
    },
  },
};
const ADDRESS = { description: 'the mailbox address, URL-encoded (k3x9%40mailwright.test)' };
const messageRefs = (channel: string, names: string[]) =>
  names.map((n) => ({ $ref: `#/channels/${channel}/messages/${n}` }));
const channelMessages = (names: string[]) =>
  Object.fromEntries(names.map((n) => [n, { $ref: `#/components/messages/${n}` }]));
const SECURITY = ['apiKey', 'mailboxToken', 'tokenQuery'].map((s) => ({ $ref: `#/components/securitySchemes/${s}` }));

const SSE =
  'Server-Sent Events (text/event-stream). The response starts with "retry: 2000" and the comment ": connected"; each frame is ' +
  '"id: <cursor>" (absent on mailbox_expired and on the last events token_revoked, token_expired, api_key_revoked, reconnect), "event: <name>", "data: <JSON payload>". ' +
  'A ": ping" comment every STREAM_PING_MS (default 25000). EventSource resumes by itself: it sends Last-Event-ID (which wins over ?since=). ' +
  'The credential and the mailbox are checked before the stream starts; refusals are the HTTP errors of GET /api/v1/mailboxes/{address}/events in the OpenAPI document.';
const WS =
  'WebSocket: one JSON text frame per message. The credential and the mailbox are checked BEFORE the upgrade; refusals are the HTTP errors of ' +
  'GET /api/v1/mailboxes/{address}/ws in the OpenAPI document. Client messages are ignored (at most 4 KiB). The server ends the stream with a close code ' +
  '(x-close-codes) whose reason is the end reason; resume with ?since=<cursor of the last frame received>.';

/** The AsyncAPI 3.0 description of the SSE and WebSocket streams; test/unit/asyncapi-document.test.ts validates it. */
export function asyncApiDocument(origin: AsyncApiOrigin): JsonSchema {
  const pathname = origin.pathname && origin.pathname !== '/' ? origin.pathname.replace(/\/$/, '') : '';
  const base = pathname ? { pathname } : {};
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Mailwright streams',
      version: '1',
      description:
        'Real-time delivery of a mailbox: every committed message exactly once, in commit order, resumable from a cursor. ' +
        'The HTTP API (and the errors a stream can be refused with) is described by /api/v1/openapi.json. Opening a stream counts one request ' +
        'against the per-IP and per-credential rate limits; a credential holds at most STREAM_MAX_PER_CREDENTIAL open streams per web process.',
      externalDocs: {
        description: 'the OpenAPI document',
        url: `${origin.secure ? 'https' : 'http'}://${origin.host}${pathname}/api/v1/openapi.json`,
      },
    },
    defaultContentType: 'application/json',
    servers: {
      sse: { host: origin.host, protocol: origin.secure ? 'https' : 'http', ...base, title: 'Server-Sent Events' },
      websocket: { host: origin.host, protocol: origin.secure ? 'wss' : 'ws', ...base, title: 'WebSocket' },
    },
    channels: {
      mailboxEvents: {
        address: '/api/v1/mailboxes/{address}/events',
        title: 'Mailbox events (SSE)',
        description: SSE,
        servers: [{ $ref: '#/servers/sse' }],
        parameters: { address: ADDRESS },
        messages: channelMessages(SSE_MESSAGES),
      },
      mailboxWebSocket: {
        address: '/api/v1/mailboxes/{address}/ws',
        title: 'Mailbox frames (WebSocket)',
        description: WS,
        servers: [{ $ref: '#/servers/websocket' }],
        parameters: { address: ADDRESS },
        messages: channelMessages(WS_MESSAGES),
        bindings: { ws: { method: 'GET', query: QUERY, bindingVersion: '0.1.0' } },
        'x-close-codes': WS_CLOSE_CODES,
      },
    },
    operations: {
      streamMailboxEvents: {
        action: 'send',
        channel: { $ref: '#/channels/mailboxEvents' },
        summary: "The server sends the mailbox's events; GET with Accept: text/event-stream (token needs read)",
        security: SECURITY,
        messages: messageRefs('mailboxEvents', SSE_MESSAGES),
        bindings: { http: { method: 'GET', query: QUERY, bindingVersion: '0.3.0' } },
      },
      streamMailboxWebSocket: {
        action: 'send',
        channel: { $ref: '#/channels/mailboxWebSocket' },
        summary: "The server sends the mailbox's frames over a WebSocket (token needs read)",
        security: SECURITY,
        messages: messageRefs('mailboxWebSocket', WS_MESSAGES),
      },
    },
    components: {
      schemas: { ...FRAME_SCHEMAS, StreamFrame: STREAM_FRAME },
      messages: Object.fromEntries(
        Object.entries(MESSAGES).map(([id, m]) => [
          id,
          {
            name: m.name,
            title: m.name,
            summary: m.summary,
            contentType: 'application/json',
            payload: { $ref: `#/components/schemas/${m.payload}` },
          },
        ]),
      ),
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'an API key (Authorization: Bearer mw_...): streams of the mailboxes its user owns',
        },
        mailboxToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'a mailbox token with read on the mailbox',
        },
        tokenQuery: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description: 'either credential as ?token= (EventSource and browser WebSocket cannot set headers)',
        },
      },
    },
  };
}
