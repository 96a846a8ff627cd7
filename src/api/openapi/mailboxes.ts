import { BOUNCE_INBOX_PROPERTY } from './bounces.js';
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
  RATE_HEADERS,
  ref,
  SEC,
  ts,
  type JsonSchema,
} from './helpers.js';

/** Mailboxes: create, list, get, change the TTL, delete (src/api/routes/mailboxes.ts, mailbox-ttl.ts, src/api/present.ts). */
export const MAILBOX_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes': {
    post: {
      operationId: 'createMailbox',
      summary:
        'Create a mailbox: anonymous (plan "anonymous") or owned with an API key (the key\'s plan); a mailbox token is refused (403 token_cannot_create)',
      tags: ['mailboxes'],
      security: SEC.optional,
      parameters: [
        q(
          'ttl_minutes',
          { type: 'integer', minimum: 1 },
          'lifetime in minutes; default and cap from the plan (capped silently); or in the JSON body',
        ),
        q(
          'domain',
          { type: 'string' },
          'one of MAIL_DOMAINS (default: the first); other values are 400 invalid_domain; or in the JSON body',
        ),
        q(
          'local_part',
          { type: 'string', maxLength: 64 },
          'API key only: the local part to use instead of a random one; or in the JSON body (see MailboxCreate)',
        ),
      ],
      requestBody: {
        required: false,
        content: json({ oneOf: [ref('MailboxCreate'), ref('ConnectedMailboxCreate')] }),
      },
      description:
        'A body with "kind": "connected" connects the caller\'s own IMAP account instead (API key only; see ConnectedMailboxCreate and docs/connected.md). ' +
        'The fields may be query parameters or a JSON body (read whatever the Content-Type, at most 64 KiB; invalid JSON is 400 invalid_json, ' +
        'an unknown field or a wrong type 400 invalid_body naming it); a field given both ways with different values is 400 conflicting_parameters. ' +
        'Creation budgets come from the plan row (create_budget_points per create_budget_window_s): per API key for keyed creation, per client IP for anonymous creation (plan "anonymous"); RATE_LIMIT_CREATE_* override them when set.',
      responses: {
        201: ok(
          "created; a hosted mailbox's token is shown only here (a connected mailbox comes without token or password)",
          { oneOf: [ref('MailboxCreated'), ref('ConnectedMailboxCreated')] },
          {
            ...RATE_HEADERS,
            Location: { description: '/api/v1/mailboxes/{address}', required: true, schema: { type: 'string' } },
          },
        ),
        409: err(
          'local_part: the address is taken, by a mailbox or by one that ended and is not purged yet (address_taken); ' +
            'connected: you already connected this address (mailbox_exists)',
        ),
        422: err(
          'connected: address_reserved (at one of MAIL_DOMAINS), imap_host_forbidden, imap_tls_required, imap_login_failed, imap_unreachable, smtp_host_forbidden, smtp_tls_required, smtp_login_failed, smtp_unreachable, bounce_imap_login_failed, bounce_imap_unreachable, bounce_imap_host_forbidden, bounce_imap_tls_required',
        ),
        501: err(
          'connected: connected mailboxes are disabled (production without CREDENTIALS_KEY): connected_disabled',
        ),
        ...errors(400, 403, 413, ...AUTHED),
      },
    },
    get: {
      operationId: 'listMailboxes',
      summary:
        "List mailboxes: an API key lists its user's (newest first), a mailbox token lists its own mailbox only; anonymous is 401",
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      parameters: [
        q('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'API key only'),
        q(
          'include_inactive',
          { type: 'string', enum: ['true', 'false'], default: 'false' },
          'API key only: include expired/deleted mailboxes',
        ),
      ],
      responses: { 200: ok('mailboxes', list('Mailbox')), ...errors(400, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}': {
    parameters: [ADDRESS],
    get: {
      operationId: 'getMailbox',
      summary: 'Get a mailbox (token needs read)',
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      responses: { 200: ok('mailbox', ref('Mailbox')), ...errors(403, 404, ...AUTHED) },
    },
    delete: {
      operationId: 'deleteMailbox',
      summary:
        'Deactivate a mailbox at once (token needs manage); open streams get mailbox_expired {reason: deleted}; deleting an ended mailbox is a 204 too',
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      responses: { 204: noContent('deleted'), ...errors(403, 404, ...AUTHED) },
    },
    patch: {
      operationId: 'updateMailbox',
      summary:
        "Set the TTL (token needs manage): expires_at = created_at + min(ttl_minutes, plan max); an already elapsed TTL expires the mailbox at once. Agent tokens tied to the mailbox's life follow.",
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      parameters: [
        q(
          'ttl_minutes',
          { type: 'integer', minimum: 1 },
          'the new lifetime, measured from created_at; or in the JSON body (given neither way: 400 invalid_ttl_minutes)',
        ),
      ],
      requestBody: {
        required: false,
        content: json({ oneOf: [ref('MailboxTtlChange'), ref('ConnectedMailboxUpdate')] }),
      },
      description:
        'Hosted: ttl_minutes as a query parameter or in a JSON body (as POST /api/v1/mailboxes: invalid_json, invalid_body, conflicting_parameters). ' +
        "Connected (a body with imap or smtp; the owner's API key): given fields replace stored ones and the result is verified again before it is saved (422 as on create, the old settings kept); " +
        'changing host, port, tls or username without the password: 422 password_required; ttl_minutes: 400 ttl_not_applicable; imap or smtp on a hosted mailbox: 400 not_connected.',
      responses: {
        200: ok(
          'the mailbox with its new expires_at and the effective ttl_minutes, or the connected mailbox with its accounts',
          {
            oneOf: [ref('MailboxTtlChanged'), ref('ConnectedMailboxCreated')],
          },
        ),
        422: err(
          'connected: password_required, imap_host_forbidden, imap_tls_required, imap_login_failed, imap_unreachable, smtp_host_forbidden, smtp_tls_required, smtp_login_failed, smtp_unreachable, bounce_imap_login_failed, bounce_imap_unreachable (the old settings kept)',
        ),
        501: err(
          'connected: connected mailboxes are disabled (production without CREDENTIALS_KEY): connected_disabled',
        ),
        ...errors(400, 403, 404, 413, ...AUTHED),
      },
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

const ACCOUNT_LOGIN: Record<string, JsonSchema> = {
  host: { type: 'string', minLength: 1, maxLength: 253, description: 'no CR, LF or NUL (any string of the body)' },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  tls: {
    type: 'string',
    enum: ['implicit', 'starttls', 'none'],
    description: 'none: only to a host on CONNECTED_ALLOW_HOSTS (else 422 imap_tls_required)',
  },
  username: { type: 'string', minLength: 1, maxLength: 320 },
  password: { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true },
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
  MailboxCreate: {
    type: 'object',
    additionalProperties: false,
    description: 'The body of POST /api/v1/mailboxes (every field optional; the same names work as query parameters)',
    properties: {
      ttl_minutes: {
        type: 'integer',
        minimum: 1,
        description: 'lifetime in minutes; default and cap from the plan (capped silently)',
      },
      domain: { type: 'string', description: 'one of MAIL_DOMAINS (default: the first)' },
      local_part: {
        type: 'string',
        maxLength: 64,
        pattern: "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$",
        description:
          'API key only (else 403 api_key_required): an RFC 5321 dot-atom of at most 64 octets, stored lower-case, without the tag separator (ADDRESS_TAG_SEPARATOR), else 400 invalid_local_part; ' +
          'postmaster, abuse, admin, hostmaster, webmaster, root, noreply, no-reply, mailer-daemon, bounce and bounces are 400 reserved_local_part; a taken address is 409 address_taken',
      },
    },
  },
  MailboxTtlChange: obj(
    {
      ttl_minutes: {
        type: 'integer',
        minimum: 1,
        description: 'the new lifetime in minutes, measured from created_at (capped by the plan)',
      },
    },
    [],
  ),
  Mailbox: obj(
    {
      ...MAILBOX,
      imap: { oneOf: [ref('ConnectedAccount'), { type: 'null' }] },
      smtp: { oneOf: [ref('ConnectedAccount'), { type: 'null' }] },
      bounce_imap: BOUNCE_INBOX_PROPERTY,
    },
    Object.keys(MAILBOX),
  ),
  ConnectedAccount: obj({
    host: { type: 'string' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tls: { type: 'string', enum: ['implicit', 'starttls', 'none'] },
    username: { type: 'string' },
  }),
  ConnectedAccountLogin: obj(ACCOUNT_LOGIN),
  ConnectedAccountPatch: {
    ...obj(ACCOUNT_LOGIN, []),
    description:
      'any of the fields; host, port, tls or username changed: the password too (else 422 password_required)',
  },
  ConnectedMailboxCreate: {
    ...obj(
      {
        kind: { type: 'string', const: 'connected' },
        address: { type: 'string', maxLength: 254, description: 'unique per owner; not at one of MAIL_DOMAINS' },
        imap: ref('ConnectedAccountLogin'),
        smtp: {
          oneOf: [ref('ConnectedAccountLogin'), { type: 'null' }],
          description:
            'optional: verified by EHLO/AUTH/QUIT (422 smtp_login_failed, smtp_unreachable, smtp_host_forbidden, smtp_tls_required)',
        },
        bounce_imap: {
          oneOf: [ref('BounceInboxLogin'), { type: 'null' }],
          description: 'optional: the bounce inbox polled for DSNs (docs/bounces.md)',
        },
      },
      ['kind', 'address', 'imap'],
    ),
    description:
      'Connect your own IMAP (and optionally SMTP) account (API key only): verified by LOGIN/LOGOUT before anything is stored; passwords are stored encrypted',
  },
  ConnectedMailboxUpdate: {
    ...obj(
      {
        imap: ref('ConnectedAccountPatch'),
        smtp: { oneOf: [ref('ConnectedAccountPatch'), { type: 'null' }], description: 'null forgets the SMTP account' },
        bounce_imap: {
          oneOf: [ref('BounceInboxPatch'), { type: 'null' }],
          description: 'null forgets the bounce inbox (no more polls)',
        },
      },
      [],
    ),
    description:
      "Change a connected mailbox's accounts: given fields replace stored ones (verified again before saving)",
  },
  ConnectedMailboxCreated: obj({
    address: { type: 'string' },
    kind: { type: 'string', const: 'connected' },
    created_at: ts,
    expires_at: { type: 'null', description: 'a connected mailbox never expires' },
    is_active: { type: 'boolean' },
    imap: ref('ConnectedAccount'),
    smtp: { oneOf: [ref('ConnectedAccount'), { type: 'null' }] },
    bounce_imap: BOUNCE_INBOX_PROPERTY,
  }),
  MailboxTtlChanged: obj({
    ...MAILBOX,
    ttl_minutes: {
      type: 'integer',
      minimum: 1,
      description: 'the TTL in effect, measured from created_at (capped by the plan)',
    },
  }),
};
