import { ADDRESS, AUTHED, errors, list, noContent, nullable, obj, ok, q, RATE_HEADERS, ref, SEC, ts, type JsonSchema } from './helpers.js';

/** Mailboxes: create, list, get, change the TTL, delete (src/api/routes/mailboxes.ts, mailbox-ttl.ts, src/api/present.ts). */
export const MAILBOX_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes': {
    post: {
      operationId: 'createMailbox',
      summary: 'Create a mailbox: anonymous (plan "anonymous") or owned with an API key (the key\'s plan); a mailbox token is refused (403 token_cannot_create)', tags: ['mailboxes'], security: SEC.optional,
      parameters: [q('ttl_minutes', { type: 'integer', minimum: 1 }, 'lifetime in minutes; default and cap from the plan (capped silently)'), q('domain', { type: 'string' }, 'one of MAIL_DOMAINS (default: the first); other values are 400 invalid_domain')],
      description: 'Takes no body (anything but nothing or {} is 400 unexpected_body). Anonymous creation has its own per-IP budget (RATE_LIMIT_CREATE_IP_*), keyed creation its own per-key budget.',
      responses: {
        201: ok('created; the mailbox token is shown only here', ref('MailboxCreated'), { ...RATE_HEADERS, Location: { description: '/api/v1/mailboxes/{address}', required: true, schema: { type: 'string' } } }),
        ...errors(400, 403, 413, ...AUTHED),
      },
    },
    get: {
      operationId: 'listMailboxes',
      summary: 'List mailboxes: an API key lists its user\'s (newest first), a mailbox token lists its own mailbox only; anonymous is 401', tags: ['mailboxes'], security: SEC.anyCredential,
      parameters: [q('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'API key only'), q('include_inactive', { type: 'string', enum: ['true', 'false'], default: 'false' }, 'API key only: include expired/deleted mailboxes')],
      responses: { 200: ok('mailboxes', list('Mailbox')), ...errors(400, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}': {
    parameters: [ADDRESS],
    get: { operationId: 'getMailbox', summary: 'Get a mailbox (token needs read)', tags: ['mailboxes'], security: SEC.anyCredential, responses: { 200: ok('mailbox', ref('Mailbox')), ...errors(403, 404, ...AUTHED) } },
    delete: {
      operationId: 'deleteMailbox',
      summary: 'Deactivate a mailbox at once (token needs manage); open streams get mailbox_expired {reason: deleted}; deleting an ended mailbox is a 204 too', tags: ['mailboxes'], security: SEC.anyCredential,
      responses: { 204: noContent('deleted'), ...errors(403, 404, ...AUTHED) },
    },
    patch: {
      operationId: 'updateMailbox',
      summary: 'Set the TTL (token needs manage): expires_at = created_at + min(ttl_minutes, plan max); an already elapsed TTL expires the mailbox at once. Agent tokens tied to the mailbox\'s life follow.', tags: ['mailboxes'], security: SEC.anyCredential,
      parameters: [q('ttl_minutes', { type: 'integer', minimum: 1 }, 'the new lifetime, measured from created_at (missing: 400 invalid_ttl_minutes)', true)],
      description: 'Takes no body (400 unexpected_body); only ttl_minutes is accepted as a query parameter.',
      responses: { 200: ok('the mailbox with its new expires_at and the effective ttl_minutes', ref('MailboxTtlChanged')), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
};

const MAILBOX: Record<string, JsonSchema> = {
  address: { type: 'string', format: 'email' },
  kind: { type: 'string', examples: ['hosted'] },
  plan: { type: 'string' },
  is_active: { type: 'boolean' },
  expires_at: nullable(ts),
  created_at: ts,
  deactivated_at: nullable(ts),
  message_count: { type: 'integer', minimum: 0 },
  used_bytes: { type: 'integer', minimum: 0 },
  dropped_count: { type: 'integer', minimum: 0 },
};

/** JSON Schema 2020-12 objects for the mailbox wire shapes (snake_case). */
export const MAILBOX_SCHEMAS: Record<string, JsonSchema> = {
  MailboxCreated: obj({
    address: { type: 'string', format: 'email' },
    expires_at: ts,
    created_at: ts,
    ttl_minutes: { type: 'integer', minimum: 1 },
    token: { type: 'string', description: 'mailbox token (JWT) with read/send/manage on this mailbox; shown once' },
  }),
  Mailbox: obj(MAILBOX),
  MailboxTtlChanged: obj({ ...MAILBOX, ttl_minutes: { type: 'integer', minimum: 1, description: 'the TTL in effect, measured from created_at (capped by the plan)' } }),
};
