import { ADDRESS, AUTHED, err, errors, list, nullable, obj, ok, q, ref, SEC, ts, type JsonSchema } from './helpers.js';

/** What a read of a connected mailbox can answer besides the hosted errors (src/connected/session.ts). */
export const IMAP_ERRORS = {
  502: err(
    'connected mailbox: the IMAP server refused the stored credentials (imap_auth_failed) or is unavailable (imap_unavailable, also a server without UIDPLUS asked to delete one message)',
  ),
  503: err(
    'connected mailbox: this process already holds IMAP_MAX_CONNECTIONS_PER_MAILBOX sessions of it and IMAP_QUEUE_MAX requests wait (imap_busy); retry after Retry-After seconds',
    { 'Retry-After': { required: true, schema: { type: 'integer', minimum: 1 }, description: 'seconds' } },
  ),
  504: err('connected mailbox: the IMAP server did not answer within IMAP_TIMEOUT_MS (imap_timeout)'),
};

export const FOLDER_PARAM = q(
  'folder',
  { type: 'string', minLength: 1, default: 'INBOX' },
  'connected mailboxes only: the IMAP folder (1-255 bytes without CR, LF or NUL, else 400 invalid_folder before any connection; unknown: 404 folder_not_found)',
);
export const PEEK_PARAM = q(
  'peek',
  { type: 'string', enum: ['true', 'false'] },
  'connected mailboxes only: true reads the message without setting \\Seen',
);

/** Connected mailboxes: the folders route (src/api/routes/connected-reads.ts); their reads share the message paths. */
export const CONNECTED_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/folders': {
    parameters: [ADDRESS],
    get: {
      operationId: 'listFolders',
      summary:
        "A connected mailbox's IMAP folders, straight from its server; a hosted mailbox has one, INBOX (token needs read)",
      tags: ['mailboxes'],
      security: SEC.anyCredential,
      responses: { 200: ok('folders', list('Folder')), ...IMAP_ERRORS, ...errors(403, 404, ...AUTHED) },
    },
  },
};

const address = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'name'],
  properties: { address: nullable({ type: 'string' }), name: nullable({ type: 'string' }) },
};

const SUMMARY: Record<string, JsonSchema> = {
  id: { type: 'string', description: 'opaque: folder, UIDVALIDITY and UID' },
  from_address: nullable({ type: 'string' }),
  subject: nullable({ type: 'string' }),
  received_at: nullable(ts),
  is_read: { type: 'boolean', description: '\\Seen on the server' },
  has_attachments: { type: 'boolean' },
};

export const CONNECTED_SCHEMAS: Record<string, JsonSchema> = {
  Folder: obj({
    path: { type: 'string' },
    name: { type: 'string' },
    delimiter: nullable({ type: 'string' }),
    special_use: nullable({ type: 'string' }),
  }),
  ConnectedMessageSummary: obj(SUMMARY),
  ConnectedMessage: obj({
    ...SUMMARY,
    folder: { type: 'string' },
    from_name: nullable({ type: 'string' }),
    to: { type: 'array', items: address },
    cc: { type: 'array', items: address },
    reply_to: { type: 'array', items: address },
    sent_at: nullable(ts),
    size: nullable({ type: 'integer', minimum: 0 }),
    text: nullable({ type: 'string', description: 'the first text/plain part (at most 2 MiB)' }),
    html: nullable({ type: 'string', description: 'the first text/html part (at most 2 MiB)' }),
    headers: {
      type: 'array',
      items: obj({ name: { type: 'string' }, value: { type: 'string' } }),
      description: 'the header lines in order (BODY.PEEK[HEADER]), names in lower case, values unfolded',
    },
    codes: {
      type: 'array',
      items: ref('FoundCode'),
      description: 'one-time codes found in the subject, text and html, most likely first',
    },
    links: { type: 'array', items: ref('FoundLink'), description: 'links found in the text and html' },
    attachments: {
      type: 'array',
      items: ref('Attachment'),
      description:
        'from BODYSTRUCTURE, in MIME order; size decoded: BINARY.SIZE where the server offers it, else estimated from the encoded size',
    },
  }),
};
