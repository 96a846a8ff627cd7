import {
  ADDRESS,
  AUTHED,
  err,
  errors,
  json,
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

const EVENT_TYPES = [
  'message.received',
  'mailbox.expired',
  'outbound.queued',
  'outbound.sent',
  'outbound.failed',
  'outbound.bounced',
  'outbound.suppressed',
  'outbound.delivery_delayed',
  'outbound.opened',
  'outbound.clicked',
];
const DELIVERY_ID = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
  description: 'delivery id; anything else is a 404 delivery_not_found',
};
const TOKEN = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
  description: 'the tracking token (base64url), as the rewritten HTML carries it',
};
const E409 = err(
  'the webhook is disabled (webhook_disabled: PUT it again), or the delivery is being sent (delivery_in_progress)',
);
const E422 = err(
  'the URL is not http(s), has a user name or password, or is longer than 2048 characters (webhook_url_invalid); it or an address it resolves to is not globally routable and not in WEBHOOK_ALLOW_HOSTS (webhook_url_forbidden); it does not resolve (webhook_url_unresolvable)',
);
const E501 = err('production without CREDENTIALS_KEY: webhook secrets cannot be stored (webhooks_disabled)');
const WEBHOOK = '/api/v1/mailboxes/{address}/webhook';
const manage = 'needs manage (a mailbox token with manage, or the owner API key)';

/** The operator webhook of a mailbox (src/api/routes/webhooks.ts) and the public tracking routes (routes/tracking.ts). */
export const WEBHOOK_PATHS: Record<string, JsonSchema> = {
  [WEBHOOK]: {
    parameters: [ADDRESS],
    put: {
      operationId: 'putWebhook',
      summary: `Create (201, the secret shown once) or replace (200, the secret kept) the mailbox's webhook; ${manage}`,
      description:
        'Deliveries are signed per Standard Webhooks 1.0 (webhook-id, webhook-timestamp, webhook-signature). A PUT re-enables a disabled webhook. The URL is checked by the SSRF guard at configuration and again at every delivery.',
      tags: ['webhooks'],
      security: SEC.anyCredential,
      requestBody: {
        required: true,
        content: json(
          obj(
            {
              url: { type: 'string', maxLength: 2048, description: 'http(s), no user name or password' },
              events: {
                type: 'array',
                minItems: 1,
                items: { type: 'string', enum: EVENT_TYPES },
                description: 'omitted: every type',
              },
            },
            ['url'],
          ),
        ),
      },
      responses: {
        200: ok('replaced (no secret)', ref('Webhook')),
        201: ok('created; `secret` is shown only here (Cache-Control: no-store)', ref('WebhookCreated')),
        422: E422,
        501: E501,
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
    },
    get: {
      operationId: 'getWebhook',
      summary: "The mailbox's webhook, never its secret (token needs read); none: 404 webhook_not_found",
      tags: ['webhooks'],
      security: SEC.anyCredential,
      responses: { 200: ok('the webhook', ref('Webhook')), ...errors(400, 403, 404, ...AUTHED) },
    },
    delete: {
      operationId: 'deleteWebhook',
      summary: `Delete the webhook; its pending deliveries stop; ${manage}`,
      tags: ['webhooks'],
      security: SEC.anyCredential,
      responses: { 204: noContent('deleted'), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  [`${WEBHOOK}/test`]: {
    parameters: [ADDRESS],
    post: {
      operationId: 'testWebhook',
      summary: `Send a webhook.test event (whatever the webhook's types); ${manage}`,
      tags: ['webhooks'],
      security: SEC.anyCredential,
      responses: {
        202: ok('queued', obj({ event_id: nullable({ type: 'string' }), delivery_id: nullable({ type: 'string' }) })),
        409: E409,
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
  [`${WEBHOOK}/rotate-secret`]: {
    parameters: [ADDRESS],
    post: {
      operationId: 'rotateWebhookSecret',
      summary: `A new secret; the old one keeps signing too (two signatures) until previous_secret_expires_at; ${manage}`,
      tags: ['webhooks'],
      security: SEC.anyCredential,
      requestBody: {
        required: false,
        content: json(
          obj({ keep_previous_minutes: { type: 'integer', minimum: 0, maximum: 1440, default: 1440 } }, []),
        ),
      },
      responses: {
        200: ok(
          'the new secret, shown once (Cache-Control: no-store)',
          obj({ secret: { type: 'string' }, previous_secret_expires_at: ts }),
        ),
        501: E501,
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
    },
  },
  [`${WEBHOOK}/deliveries`]: {
    parameters: [ADDRESS],
    get: {
      operationId: 'listWebhookDeliveries',
      summary: "The webhook's deliveries, newest first (token needs read); X-Next-Cursor when there may be more",
      tags: ['webhooks'],
      security: SEC.anyCredential,
      parameters: [
        q('status', { type: 'string' }, 'comma-separated: pending, sending, delivered, failed'),
        q('limit', { type: 'integer', minimum: 1, default: 50 }, 'at most MESSAGE_PAGE_MAX'),
        q('cursor', { type: 'string' }, 'the X-Next-Cursor of the previous page'),
      ],
      responses: {
        200: ok('deliveries', { type: 'array', items: ref('WebhookDelivery') }),
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
  [`${WEBHOOK}/deliveries/{id}`]: {
    parameters: [ADDRESS, DELIVERY_ID],
    get: {
      operationId: 'getWebhookDelivery',
      summary:
        'One delivery with its payload, the first 1 KB of the last response and the last 20 attempts (token needs read)',
      tags: ['webhooks'],
      security: SEC.anyCredential,
      responses: { 200: ok('the delivery', ref('WebhookDeliveryFull')), ...errors(400, 403, 404, ...AUTHED) },
    },
  },
  [`${WEBHOOK}/deliveries/{id}/retry`]: {
    parameters: [ADDRESS, DELIVERY_ID],
    post: {
      operationId: 'retryWebhookDelivery',
      summary: `Send a delivery again now: same webhook-id, freshly signed, counted as an attempt; ${manage}`,
      tags: ['webhooks'],
      security: SEC.anyCredential,
      responses: {
        202: ok('queued', obj({ id: { type: 'string' }, status: { type: 'string', enum: ['pending'] } })),
        409: E409,
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
  [`${WEBHOOK}/recover`]: {
    parameters: [ADDRESS],
    post: {
      operationId: 'recoverWebhookDeliveries',
      summary: `Re-queue the failed deliveries created since a time (at most 10,000); ${manage}`,
      tags: ['webhooks'],
      security: SEC.anyCredential,
      requestBody: { required: true, content: json(obj({ since: ts })) },
      responses: {
        202: ok('queued', obj({ requeued: { type: 'integer', minimum: 0 } })),
        409: E409,
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
    },
  },
  '/t/o/{id}': {
    parameters: [TOKEN],
    get: {
      operationId: 'trackOpen',
      summary:
        'Open-tracking pixel of an outbound message: a 1×1 GIF (no-store); a GET records outbound.opened, HEAD nothing',
      tags: ['webhooks'],
      security: SEC.none,
      responses: {
        200: { description: 'the pixel', content: { 'image/gif': { schema: { type: 'string', format: 'binary' } } } },
        404: err('a token that does not verify (or tracking is off)'),
      },
    },
  },
  '/t/c/{id}': {
    parameters: [TOKEN],
    get: {
      operationId: 'trackClick',
      summary: 'A tracked link: 302 to the destination the token carries; a GET records outbound.clicked, HEAD nothing',
      tags: ['webhooks'],
      security: SEC.none,
      responses: {
        302: {
          description: 'to the destination',
          headers: { Location: { required: true, schema: { type: 'string' } } },
        },
        404: err('a token that does not verify (changed, truncated, another key): no Location, no open redirect'),
      },
    },
  },
};

const WEBHOOK_FIELDS: Record<string, JsonSchema> = {
  url: { type: 'string' },
  events: nullable({ type: 'array', items: { type: 'string' } }),
  status: { type: 'string', enum: ['enabled', 'disabled'] },
  disabled_reason: nullable({ type: 'string', enum: ['gone', 'failing', null] }),
  disabled_at: nullable(ts),
  created_at: ts,
  updated_at: ts,
  previous_secret_expires_at: nullable(ts),
};
const DELIVERY_FIELDS: Record<string, JsonSchema> = {
  id: { type: 'string' },
  event_id: { type: 'string', description: 'evt_<ULID>: the webhook-id header' },
  event_type: { type: 'string' },
  status: { type: 'string', enum: ['pending', 'sending', 'delivered', 'failed'] },
  attempts: { type: 'integer', minimum: 0 },
  created_at: ts,
  last_attempt_at: nullable(ts),
  next_attempt_at: nullable(ts),
  delivered_at: nullable(ts),
  last_status_code: nullable({ type: 'integer' }),
  last_error: nullable({ type: 'string' }),
};

export const WEBHOOK_SCHEMAS: Record<string, JsonSchema> = {
  Webhook: obj(WEBHOOK_FIELDS),
  WebhookCreated: obj({ ...WEBHOOK_FIELDS, secret: { type: 'string', description: 'whsec_ + base64 of 32 bytes' } }),
  WebhookDelivery: obj(DELIVERY_FIELDS),
  WebhookDeliveryFull: obj({
    ...DELIVERY_FIELDS,
    payload: {
      type: 'object',
      description: 'the JSON body sent: id, type, timestamp, sequence, mailbox, data',
    },
    response_excerpt: nullable({ type: 'string' }),
    attempt_log: {
      type: 'array',
      items: obj({
        at: ts,
        status_code: nullable({ type: 'integer' }),
        error: nullable({ type: 'string' }),
        ms: { type: 'integer' },
      }),
    },
  }),
};
