import { ADDRESS, AUTHED, err, errors, json, noContent, ok, q, ref, SEC, type JsonSchema } from './helpers.js';

const list = (item: string) => ({ type: 'array', items: ref(item) });
const noStore = (description: string, schema: JsonSchema) => {
  const r = ok(description, schema);
  return { ...r, headers: { ...r.headers, 'Cache-Control': { required: true, schema: { const: 'no-store' } } } };
};
const STREAM_PARAMS = [
  ADDRESS,
  q('token', { type: 'string' }, 'the credential (mailbox token or API key) for clients that cannot set headers; accepted ONLY on /events and /ws'),
  q('since', { type: 'string', pattern: '^[0-9]{1,15}$' }, 'replay every message committed after this cursor before going live (Last-Event-ID wins for SSE)'),
  q('tag', { type: 'string', minLength: 1, maxLength: 64 }, 'only new_message frames of messages with this tag (box+tag@…, compared lower-cased); the cursors of the others are skipped'),
];
const STREAM_ERRORS = (extra: string) => ({
  400: err(`unknown query parameter (only token, since and tag) or invalid since / Last-Event-ID (invalid_cursor) or tag (invalid_tag)${extra}`),
  401: err('no credential (a stream always needs one), or an invalid, revoked or expired one'),
  403: err('the mailbox token lacks read (insufficient_permission)'),
  404: err('no such mailbox for this caller (mailbox_not_found)'),
  410: err('the mailbox has ended (mailbox_expired, mailbox_deleted)'),
  429: err('this credential (API key or mailbox token) already holds STREAM_MAX_PER_CREDENTIAL (default 20) open streams, SSE and WS together, on this web process (too_many_streams): close one first. Counted per process: N web processes allow N times the value'),
  503: err('this process holds STREAM_MAX_PER_PROCESS streams, or a dependency is unavailable: retry (service_unavailable)'),
});
const FRAMES = 'Frames (JSON, components.schemas.StreamFrame): ready {type,cursor} once after the replay; new_message {type,cursor,message} per committed message in commit order; mailbox_expired {type,reason} then the stream ends. ' +
  'A stream opened with a mailbox token ends when that token is revoked or expires; one opened with an API key ends when that key is revoked. Streams are not rate-limited and are served ahead of the Koa app.';

/** Streams, agent tokens, API keys and SES ingestion (src/stream/sse.ts, websocket.ts, src/api/routes/tokens.ts, keys.ts, ses-ingest.ts). */
export const MORE_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/events': {
    get: {
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
  '/api/v1/mailboxes/{address}/tokens': {
    parameters: [ADDRESS],
    post: {
      summary: 'Mint a mailbox token (needs manage: the owner\'s API key or a token with manage); the secret is shown once', tags: ['access'], security: SEC.anyCredential,
      description: 'At most TOKENS_PER_MAILBOX_MAX (default 100) active tokens per mailbox (403 token_limit_reached). No query parameters.',
      requestBody: { required: true, content: json(ref('TokenCreate')) },
      responses: { 201: noStore('the token row and the JWT', ref('TokenCreated')), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
    get: {
      summary: 'List the mailbox\'s tokens, revoked and expired included (needs manage; never the secret; also for an ended mailbox)', tags: ['access'], security: SEC.anyCredential,
      responses: { 200: ok('tokens', list('Token')), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/tokens/{jti}': {
    parameters: [ADDRESS, { name: 'jti', in: 'path', required: true, schema: { type: 'string' }, description: 'Token.jti' }],
    delete: {
      summary: 'Revoke a token (needs manage; repeating it is a 204 too): it is refused from then on and open streams opened with it close', tags: ['access'], security: SEC.anyCredential,
      description: 'Takes no body (400 unexpected_body).',
      responses: { 204: noContent('revoked'), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
  '/api/v1/keys': {
    post: {
      summary: 'Create an API key for the calling key\'s user (an API key is required; a mailbox token is 403 api_key_required); shown once', tags: ['access'], security: SEC.apiKey,
      description: 'At most API_KEYS_PER_USER_MAX (default 20) active keys (403 key_limit_reached). The body may be absent. No query parameters.',
      requestBody: { required: false, content: json(ref('ApiKeyCreate')) },
      responses: { 201: noStore('the key record and the key', ref('ApiKeyCreated')), ...errors(400, 403, 413, ...AUTHED) },
    },
    get: {
      summary: 'List the user\'s API keys, revoked included (prefix only, never the key)', tags: ['access'], security: SEC.apiKey,
      responses: { 200: ok('keys', list('ApiKey')), ...errors(400, 403, ...AUTHED) },
    },
  },
  '/api/v1/keys/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description: 'ApiKey.id; another user\'s key is a 404' }],
    delete: {
      summary: 'Revoke an API key (repeating it is a 204 too); the key is refused from then on', tags: ['access'], security: SEC.apiKey,
      description: 'Takes no body (400 unexpected_body). SSE and WebSocket streams opened with the key are closed in every web process (SSE event api_key_revoked, WS close 1008 "api_key_revoked").',
      responses: { 204: noContent('revoked'), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
  '/api/v1/ingest/ses': {
    post: {
      summary: 'Amazon SNS HTTP(S) subscription endpoint for SES inbound mail (SNS action, inline content)', tags: ['ingress'], security: SEC.none,
      description: 'No credential: the SNS signature (SignatureVersion 1 or 2, certificate from https://sns.<region>.amazonaws.com) is verified and TopicArn must be in SES_TOPIC_ARNS. ' +
        'Not rate-limited. Notification: the mail is queued for delivery (redeliveries of one SNS MessageId collapse onto one stored message). SubscriptionConfirmation: SubscribeURL is fetched. UnsubscribeConfirmation: logged. ' +
        'S3-action receipts are NOT fetched (200 not_delivered s3_action). The body is read as text whatever its Content-Type (SNS sends text/plain).',
      parameters: [{ name: 'x-amz-sns-message-type', in: 'header', required: false, schema: { type: 'string', enum: ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] }, description: 'when given it must equal the body\'s Type (else 403 sns_type_mismatch)' }],
      requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string', description: 'an SNS message (JSON)' } }, 'application/json': { schema: { type: 'object', required: ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] } } } },
      responses: {
        200: { description: 'handled; SNS stops retrying', content: json(ref('SesReply')) },
        400: err('the body is not JSON (invalid_json)'),
        403: err('the SNS message is refused: sns_not_sns, sns_unsigned, sns_unknown_type, sns_type_mismatch, sns_untrusted_url, sns_topic_not_allowed, sns_unknown_signature_version, sns_bad_signature, sns_bad_certificate, sns_certificate_not_found'),
        404: err('SES ingestion is disabled: SES_TOPIC_ARNS is empty (ses_disabled)'),
        413: err('body larger than SES_MAX_BODY_BYTES (default 528 KiB) (payload_too_large)'),
        ...errors(500),
        503: err('Redis (the queue) or the certificate / SubscribeURL fetch did not answer: SNS retries (service_unavailable)'),
      },
    },
  },
};
