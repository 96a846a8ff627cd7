import { ADDRESS, AUTHED, errors, list, nullable, obj, ok, q, ref, SEC, ts, type JsonSchema } from './helpers.js';

/** VERP bounces (issue 21): the reports of a mailbox, and the bounce inbox of a connected mailbox. */
export const BOUNCE_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/bounces': {
    parameters: [ADDRESS],
    get: {
      operationId: 'listBounces',
      summary:
        "A mailbox's bounce reports, newest first: one per processed DSN (bounce inbox or SMTP) whose signed VERP address matched one of its outbound messages (token needs read)",
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      parameters: [
        q('limit', { type: 'integer', minimum: 1, default: 50 }, 'page size (at most MESSAGE_PAGE_MAX)'),
        q('cursor', { type: 'string' }, 'X-Next-Cursor of the previous page (else 400 invalid_cursor)'),
      ],
      responses: {
        200: ok('bounce reports', list('BounceReport')),
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
};

const LOGIN = {
  host: { type: 'string', maxLength: 253 },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  tls: { type: 'string', enum: ['implicit', 'starttls', 'none'] },
  username: { type: 'string', maxLength: 320 },
  password: { type: 'string', maxLength: 1024, writeOnly: true },
  folder: {
    type: 'string',
    default: 'INBOX',
    description: 'the folder polled: 1-255 bytes without CR, LF or NUL (else 400 invalid_folder)',
  },
  verp_domain: {
    type: 'string',
    description:
      'the domain of the VERP return paths (bounce+{id}.{hmac}@verp_domain), routed to this inbox; default: the mailbox address’s domain; not a host name: 400 invalid_body',
  },
};

export const BOUNCE_SCHEMAS: Record<string, JsonSchema> = {
  BounceInbox: obj({
    host: { type: 'string' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tls: { type: 'string', enum: ['implicit', 'starttls', 'none'] },
    username: { type: 'string' },
    folder: { type: 'string' },
    verp_domain: { type: 'string' },
    last_poll_at: nullable(ts),
    last_poll_result: nullable({
      type: 'object',
      description: 'the last poll: fetched, matched, rejected, errors, ms (and error or skipped)',
    }),
  }),
  BounceInboxLogin: {
    ...obj(LOGIN, ['host', 'port', 'tls', 'username', 'password']),
    description:
      'verified by LOGIN/LOGOUT before it is stored (422 bounce_imap_login_failed, bounce_imap_unreachable, bounce_imap_host_forbidden, bounce_imap_tls_required); polled every BOUNCE_POLL_EVERY_MS',
  },
  BounceInboxPatch: {
    ...obj(LOGIN, []),
    description:
      'any of the fields; host, port, tls or username changed: the password too (else 422 password_required); verified again',
  },
  BounceReport: obj({
    id: { type: 'string', format: 'uuid' },
    outbound_message_id: nullable({ type: 'string', format: 'uuid' }),
    recipient: nullable({ type: 'string' }),
    source: { type: 'string', enum: ['imap', 'smtp'] },
    dsn_message_id: nullable({ type: 'string' }),
    action: nullable({
      type: 'string',
      description: 'failed, delayed, delivered, relayed, expanded, complaint or auto_reply',
    }),
    status: nullable({ type: 'string', description: 'RFC 3463 code, e.g. 5.1.1' }),
    diagnostic: nullable({ type: 'string', maxLength: 1000 }),
    remote_mta: nullable({ type: 'string' }),
    class: { type: 'string', enum: ['hard', 'soft', 'delayed', 'complaint', 'none'] },
    received_at: ts,
  }),
};

/** The bounce_imap property of connected mailbox answers and bodies (src/api/openapi/mailboxes.ts). */
export const BOUNCE_INBOX_PROPERTY = { oneOf: [ref('BounceInbox'), { type: 'null' }] };
