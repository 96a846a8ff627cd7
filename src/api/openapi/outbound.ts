import {
  ADDRESS,
  AUTHED,
  err,
  errors,
  json,
  list,
  noContent,
  nullable,
  obj,
  ok,
  q,
  ref,
  SEC,
  ts,
  type JsonSchema,
} from './helpers.js';

const STATUS = { type: 'string', enum: ['queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed'] };
const ADDRESSES = {
  oneOf: [
    { type: 'string', description: 'addr@domain or Name <addr@domain>' },
    { type: 'array', items: { type: 'string' } },
  ],
};
const RETRY_AFTER = {
  'Retry-After': { required: true, schema: { type: 'string', pattern: '^[0-9]+$' }, description: 'seconds' },
};
const PAGE_HEADERS = {
  'X-Next-Cursor': {
    schema: { type: 'string' },
    description: 'set when the page is full: the cursor of the next page',
  },
  Link: { schema: { type: 'string' }, description: '<path?(the request filters)&limit=N&cursor=C>; rel="next"' },
};
const paged = (description: string, item: string) => {
  const r = ok(description, list(item));
  return { ...r, headers: { ...r.headers, ...PAGE_HEADERS } };
};
const LIMIT = q('limit', { type: 'integer', minimum: 1, default: 50 }, 'page size, at most MESSAGE_PAGE_MAX (200)');
const CURSOR = q('cursor', { type: 'string' }, 'the X-Next-Cursor of the previous page (opaque)');
const RECIPIENT = {
  name: 'recipient',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'the suppressed address (URL-encoded), compared case-insensitively',
};

const SEND_ERRORS = {
  400: err(
    'invalid_body (not JSON, unknown field, wrong type, no recipient, neither text nor html, no subject), invalid_address, invalid_header (CR, LF or NUL; a header name outside [A-Za-z0-9-]{1,76}, reserved or over 50), too_many_recipients, invalid_attachment, invalid_idempotency_key',
  ),
  403: err('insufficient_permission (a token without send), sending_not_allowed (the plan or token allows no sending)'),
  409: err('idempotency_key_in_progress: the first request with this key has not answered yet', RETRY_AFTER),
  413: err(
    'payload_too_large (body over OUTBOUND_MAX_REQUEST_BYTES), message_too_large (built message over OUTBOUND_MAX_MESSAGE_BYTES)',
  ),
  422: err(
    'sending_not_configured (hosted mailbox without OUTBOUND_RELAY_URL, connected mailbox without its own SMTP account), idempotency_key_reused (the key was used with another path or body)',
  ),
  429: err(
    'send_quota_exceeded (the rolling 24 h quota of the owner, ownerless mailbox or token), or rate_limited',
    RETRY_AFTER,
  ),
};

/** Outbound sending and suppressions (src/api/routes/outbound.ts, outbound-reads.ts, suppressions.ts). */
export const OUTBOUND_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/outbound': {
    parameters: [ADDRESS],
    post: {
      operationId: 'sendOutbound',
      summary: 'Send from the mailbox: stores one outbound message per distinct recipient and queues it (needs send)',
      tags: ['outbound'],
      security: SEC.anyCredential,
      description:
        'The API runs no SMTP: 202 once stored; the worker delivers, retries (4xx) and records every state change (docs/outbound.md). From is always the mailbox address. ' +
        'Idempotency-Key (1-255 printable ASCII, per credential, 24 h): the same request replays the first answer with Idempotent-Replayed: true.',
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          schema: { type: 'string', minLength: 1, maxLength: 255 },
          description: 'replay protection per credential for 24 h',
        },
      ],
      requestBody: { required: true, content: json(ref('OutboundSend')) },
      responses: {
        202: {
          ...ok('accepted: every recipient queued or suppressed', ref('OutboundAccepted')),
        },
        ...SEND_ERRORS,
        ...errors(404, 410, 401, 500, 503),
      },
    },
    get: {
      operationId: 'listOutbound',
      summary: "The mailbox's outbound messages, newest first, never bodies (needs read)",
      tags: ['outbound'],
      security: SEC.anyCredential,
      parameters: [
        q(
          'status',
          { type: 'string' },
          'comma-separated statuses (queued,sending,sent,failed,bounced,suppressed); another is 400 invalid_status',
        ),
        q('recipient', { type: 'string' }, 'only this recipient (case-insensitive)'),
        LIMIT,
        CURSOR,
      ],
      responses: { 200: paged('outbound messages', 'OutboundSummary'), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/outbound/{id}': {
    parameters: [
      ADDRESS,
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string' },
        description: "an outbound message id (UUID); another mailbox's is a 404 outbound_message_not_found",
      },
    ],
    get: {
      operationId: 'getOutbound',
      summary:
        'One outbound message: its columns, the content, attachment metadata and its events, oldest first (needs read)',
      tags: ['outbound'],
      security: SEC.anyCredential,
      responses: { 200: ok('the outbound message', ref('OutboundMessage')), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/suppressions': {
    parameters: [ADDRESS],
    get: {
      operationId: 'listSuppressions',
      summary: "The mailbox's suppressed recipients, newest first (needs read)",
      tags: ['outbound'],
      security: SEC.anyCredential,
      parameters: [q('recipient', { type: 'string' }, 'only this address (case-insensitive)'), LIMIT, CURSOR],
      responses: { 200: paged('suppressions', 'Suppression'), ...errors(400, 403, 404, ...AUTHED) },
    },
    post: {
      operationId: 'addSuppression',
      summary: 'Suppress a recipient: later sends to it are suppressed with no SMTP traffic (needs send or manage)',
      tags: ['outbound'],
      security: SEC.anyCredential,
      requestBody: { required: true, content: json(ref('SuppressionCreate')) },
      responses: {
        201: ok('added', ref('Suppression')),
        200: ok('already suppressed: the existing row', ref('Suppression')),
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
    },
  },
  '/api/v1/mailboxes/{address}/suppressions/{recipient}': {
    parameters: [ADDRESS, RECIPIENT],
    delete: {
      operationId: 'removeSuppression',
      summary: 'Re-enable a recipient (needs manage); none: 404 suppression_not_found',
      tags: ['outbound'],
      security: SEC.anyCredential,
      responses: { 204: noContent('removed'), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
};

const SUMMARY: Record<string, JsonSchema> = {
  id: { type: 'string', format: 'uuid' },
  recipient: { type: 'string' },
  subject: { type: 'string' },
  status: STATUS,
  stream: { type: 'string', enum: ['transactional', 'broadcast'] },
  attempts: { type: 'integer', minimum: 0 },
  created_at: ts,
  sent_at: nullable(ts),
  bounce_type: { type: ['string', 'null'], enum: ['hard', 'soft', null] },
};
const NAMED = obj({ address: { type: 'string' }, name: nullable({ type: 'string' }) });

export const OUTBOUND_SCHEMAS: Record<string, JsonSchema> = {
  OutboundSend: {
    ...obj(
      {
        to: ADDRESSES,
        cc: ADDRESSES,
        bcc: { ...ADDRESSES, description: 'receive the message without a Bcc header' },
        subject: { type: 'string', minLength: 1 },
        text: { type: 'string' },
        html: { type: 'string' },
        from_name: {
          type: 'string',
          maxLength: 256,
          description: "the From display name; From is the mailbox's address",
        },
        reply_to: { type: 'string' },
        headers: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 50 },
        attachments: {
          type: 'array',
          maxItems: 20,
          items: obj(
            {
              filename: { type: 'string', minLength: 1, maxLength: 255 },
              content_type: { type: 'string', default: 'application/octet-stream' },
              content_base64: { type: 'string', contentEncoding: 'base64' },
            },
            ['content_base64'],
          ),
        },
        stream: { type: 'string', enum: ['transactional', 'broadcast'], default: 'transactional' },
        track_opens: { type: 'boolean', default: false },
        track_clicks: { type: 'boolean', default: false },
      },
      ['subject'],
    ),
    description: 'strict: any other field is a 400 invalid_body. At least one of to, cc, bcc; text or html or both.',
  },
  OutboundAccepted: obj({
    message_id: { type: 'string', description: 'the Message-ID every copy carries: <send id@mailbox domain>' },
    messages: {
      type: 'array',
      items: obj({
        id: { type: 'string', format: 'uuid' },
        recipient: { type: 'string' },
        status: { type: 'string', enum: ['queued', 'suppressed'] },
      }),
    },
  }),
  OutboundSummary: obj(SUMMARY),
  OutboundMessage: obj({
    ...SUMMARY,
    send_id: { type: 'string', format: 'uuid' },
    recipient_name: nullable({ type: 'string' }),
    recipient_type: { type: 'string', enum: ['to', 'cc', 'bcc'] },
    message_id: { type: 'string' },
    envelope_from: nullable({ type: 'string', description: 'MAIL FROM of the last attempt' }),
    smtp_response: nullable({ type: 'string', description: "the server's last reply" }),
    error: nullable({
      type: 'string',
      description: 'failed: rejected, retries_exhausted, sending_not_configured, ...',
    }),
    next_retry_at: nullable(ts),
    failed_at: nullable(ts),
    bounce_diagnostic: nullable({ type: 'string' }),
    bounced_at: nullable(ts),
    opened_at: nullable(ts),
    clicked_at: nullable(ts),
    track_opens: { type: 'boolean' },
    track_clicks: { type: 'boolean' },
    updated_at: ts,
    from_name: nullable({ type: 'string' }),
    reply_to: nullable({ type: 'string' }),
    to: { type: 'array', items: NAMED },
    cc: { type: 'array', items: NAMED },
    text: nullable({ type: 'string' }),
    html: nullable({ type: 'string' }),
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    attachments: {
      type: 'array',
      items: obj({
        index: { type: 'integer', minimum: 0 },
        filename: nullable({ type: 'string' }),
        content_type: { type: 'string' },
        size: { type: 'integer', minimum: 0 },
      }),
    },
    events: { type: 'array', items: ref('OutboundEvent'), description: 'oldest first' },
  }),
  OutboundEvent: obj({
    id: { type: 'string' },
    type: {
      type: 'string',
      enum: [
        'queued',
        'sending',
        'deferred',
        'sent',
        'failed',
        'suppressed',
        'bounced',
        'delivery_delayed',
        'opened',
        'clicked',
        'complained',
      ],
    },
    occurred_at: ts,
    payload: {
      type: 'object',
      description:
        'sending {attempt, recovered?}; deferred {attempt, response, next_retry_at}; sent {response}; failed {response, reason, attempt}; suppressed {reason}',
    },
  }),
  Suppression: obj({
    recipient: { type: 'string' },
    reason: { type: 'string', enum: ['hard_bounce', 'complaint', 'manual'] },
    source_message_id: nullable({ type: 'string', format: 'uuid' }),
    notes: nullable({ type: 'string' }),
    created_at: ts,
  }),
  SuppressionCreate: {
    ...obj(
      {
        recipient: { type: 'string', minLength: 1 },
        reason: { type: 'string', enum: ['manual', 'complaint'], default: 'manual' },
        notes: { type: 'string', maxLength: 1000 },
      },
      ['recipient'],
    ),
    description: 'strict: any other field is a 400 invalid_body',
  },
};
