import {
  ADDRESS,
  AUTHED,
  errors,
  MESSAGE_ID,
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
import { FOLDER_PARAM, IMAP_ERRORS, PEEK_PARAM } from './connected.js';

const WAIT_ONLY = 'only with the blocking wait (any of wait/subject/from/since turns the wait mode on)';

/** Stored messages: list and wait, read, raw, attachments, delete (src/api/routes/messages.ts, src/stream/routes.ts). */
export const MESSAGE_PATHS: Record<string, JsonSchema> = {
  '/api/v1/mailboxes/{address}/messages': {
    parameters: [ADDRESS],
    get: {
      operationId: 'listMessages',
      summary:
        'List messages, newest first. With wait/subject/from/since: a filtered search that blocks up to wait seconds until something matches.',
      tags: ['messages'],
      security: SEC.anyCredential,
      description:
        'Plain list: parameters limit, cursor, unread, tag; pages continue through X-Next-Cursor / Link. ' +
        'Wait mode (any of wait, subject, from, since given): parameters wait, subject, from, since, unread, limit, tag (cursor is then 400 unknown_parameter). ' +
        'Returns at once when something matches, else when an event for the mailbox arrives, else an empty array after wait seconds. ' +
        'Filters: case-insensitive substring, or /regex/ (flags ignored, matched case-insensitively, in Postgres with WAIT_REGEX_TIMEOUT_MS). ' +
        'A regex Postgres cannot compile is 400 invalid_regex; one that runs too long is 400 regex_too_expensive. If the mailbox ends during the wait: 410. Token needs read. ' +
        "A connected mailbox: wait mode on INBOX only (folder other than INBOX: 400 wait_inbox_only), searched over IMAP after subscribing to the mailbox's events (its worker's IDLE watcher publishes each new UID); subject and from are substrings (a regex: 400 regex_not_supported), since is <uidvalidity>.<uid>, tag is 400 tag_not_applicable.",
      parameters: [
        FOLDER_PARAM,
        q(
          'limit',
          { type: 'integer', minimum: 1, default: 50 },
          'page size; at most MESSAGE_PAGE_MAX (default 200), else 400 invalid_limit',
        ),
        q(
          'cursor',
          { type: 'string', pattern: '^[0-9]{1,15}\\.[0-9]{1,15}$' },
          'plain list only: the X-Next-Cursor of the previous page (opaque)',
        ),
        q('unread', { type: 'string', enum: ['true', 'false'] }, 'only unread messages'),
        q(
          'tag',
          { type: 'string', minLength: 1, maxLength: 64 },
          'only messages whose recipient carried this tag (box+tag@…, compared lower-cased); plain list and wait mode; else 400 invalid_tag',
        ),
        q(
          'wait',
          { type: 'integer', minimum: 0 },
          `seconds to block for a match; at most WAIT_MAX_SECONDS (default 300), else 400 invalid_wait; ${WAIT_ONLY}`,
        ),
        q(
          'subject',
          { type: 'string', minLength: 1 },
          `subject filter: substring or /regex/; at most WAIT_FILTER_MAX_LENGTH (default 200) characters; ${WAIT_ONLY}`,
        ),
        q(
          'from',
          { type: 'string', minLength: 1 },
          `filter on from_address: substring or /regex/; same limit; ${WAIT_ONLY}`,
        ),
        q(
          'since',
          { type: 'string', pattern: '^([0-9]{1,15}|[1-9][0-9]{0,9}\\.[0-9]{1,10})$' },
          `only messages committed after this cursor (a stream cursor or X-Cursor; a connected mailbox: <uidvalidity>.<uid>, the UIDs above it); ${WAIT_ONLY}`,
        ),
      ],
      responses: {
        200: ok(
          'messages (wait mode: the matches, or [] when the wait ran out); a connected mailbox: ConnectedMessageSummary items, highest UID first, cursor <uidvalidity>.<uid>',
          { type: 'array', items: { oneOf: [ref('MessageSummary'), ref('ConnectedMessageSummary')] } },
          {
            ...RATE_HEADERS,
            'X-Next-Cursor': {
              schema: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' },
              description: 'plain list: present when the page is full; pass as cursor',
            },
            Link: {
              schema: { type: 'string' },
              description: 'plain list, with X-Next-Cursor: <path?(the request filters)&limit=N&cursor=C>; rel="next"',
            },
            'X-Cursor': {
              schema: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' },
              description:
                'wait mode, when something matched: the cursor of the newest match (a connected mailbox: <uidvalidity>.<uid>); pass as since to wait for the next one',
            },
          },
        ),
        ...IMAP_ERRORS,
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}': {
    parameters: [ADDRESS, MESSAGE_ID],
    get: {
      operationId: 'getMessage',
      summary: 'Get a parsed message with extracted codes and links (marks it read; token needs read)',
      tags: ['messages'],
      security: SEC.anyCredential,
      parameters: [PEEK_PARAM],
      responses: {
        200: ok('message (a connected mailbox: ConnectedMessage)', {
          oneOf: [ref('Message'), ref('ConnectedMessage')],
        }),
        ...IMAP_ERRORS,
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
    delete: {
      operationId: 'deleteMessage',
      summary:
        'Delete a message, freeing its quota (token needs manage); a connected mailbox: UID EXPUNGE of that UID only',
      tags: ['messages'],
      security: SEC.anyCredential,
      responses: { 204: noContent('deleted'), ...IMAP_ERRORS, ...errors(403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/raw': {
    parameters: [ADDRESS, MESSAGE_ID],
    get: {
      operationId: 'getMessageRaw',
      summary: 'The message exactly as received (token needs read)',
      tags: ['messages'],
      security: SEC.anyCredential,
      responses: {
        200: {
          description: 'RFC 5322 bytes',
          headers: RATE_HEADERS,
          content: { 'message/rfc822': { schema: { type: 'string' } } },
        },
        ...IMAP_ERRORS,
        ...errors(403, 404, ...AUTHED),
      },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}': {
    parameters: [
      ADDRESS,
      MESSAGE_ID,
      {
        name: 'n',
        in: 'path',
        required: true,
        schema: { type: 'integer', minimum: 0, maximum: 9999 },
        description: 'attachments[].index; anything else is 404 attachment_not_found',
      },
    ],
    get: {
      operationId: 'getAttachment',
      summary: 'Download one attachment, decoded (token needs read)',
      tags: ['messages'],
      security: SEC.anyCredential,
      responses: {
        200: {
          description: 'the attachment bytes with their own Content-Type (application/octet-stream when unknown)',
          headers: {
            ...RATE_HEADERS,
            'Content-Disposition': {
              required: true,
              schema: { type: 'string' },
              description:
                'attachment; filename="ascii"; filename*=UTF-8\'\'... (a name over ATTACHMENT_FILENAME_MAX_CHARS, default 255, characters is cut to that many, keeping its extension)',
            },
            'X-Content-Type-Options': { schema: { const: 'nosniff' } },
          },
          content: { '*/*': { schema: { type: 'string', contentEncoding: 'binary' } } },
        },
        ...IMAP_ERRORS,
        ...errors(403, 404, ...AUTHED),
      },
    },
  },
};

export const TAG =
  'the recipient\'s tag: mail to box+signup@domain is stored in box@domain with tag "signup" (ADDRESS_TAG_SEPARATOR); null: none';
const FOUND_IN = { type: 'string', enum: ['subject', 'text', 'html'] };

/** JSON Schema 2020-12 objects for the message wire shapes in src/api/present.ts (snake_case). */
export const MESSAGE_SCHEMAS: Record<string, JsonSchema> = {
  MessageSummary: obj({
    id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' },
    from_address: nullable({ type: 'string' }),
    subject: nullable({ type: 'string' }),
    received_at: ts,
    is_read: { type: 'boolean' },
    has_attachments: { type: 'boolean' },
    tag: nullable({ type: 'string', description: TAG }),
  }),
  AddressEntry: obj({
    address: { type: 'string' },
    name: { type: ['string', 'null'], description: 'the display name; null when the header gives none (as from_name)' },
  }),
  Attachment: obj({
    index: { type: 'integer', minimum: 0, description: 'use in /attachments/{n}' },
    filename: nullable({ type: 'string' }),
    content_type: { type: 'string' },
    size: { type: 'integer', minimum: 0 },
    content_id: nullable({ type: 'string' }),
    disposition: nullable({ type: 'string' }),
  }),
  Message: obj({
    id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' },
    mailbox: { type: 'string', format: 'email' },
    cursor: {
      type: 'string',
      pattern: '^[0-9]+$',
      description: 'per-mailbox commit sequence; resume point for streams',
    },
    tag: nullable({ type: 'string', description: TAG }),
    message_id: nullable({ type: 'string' }),
    from_address: nullable({ type: 'string' }),
    from_name: nullable({ type: 'string' }),
    to: { type: 'array', items: ref('AddressEntry') },
    cc: { type: 'array', items: ref('AddressEntry') },
    reply_to: { type: 'array', items: ref('AddressEntry') },
    subject: nullable({ type: 'string' }),
    text: nullable({ type: 'string' }),
    html: nullable({ type: 'string' }),
    headers: { type: 'array', items: obj({ name: { type: 'string' }, value: { type: 'string' } }) },
    attachments: { type: 'array', items: ref('Attachment') },
    has_attachments: { type: 'boolean' },
    size: { type: 'integer', minimum: 0 },
    sent_at: nullable(ts),
    received_at: ts,
    is_read: { type: 'boolean' },
    source: { type: 'string', enum: ['smtp', 'ses'] },
    envelope_from: nullable({ type: 'string' }),
    parse_error: nullable({ type: 'string' }),
    codes: {
      type: 'array',
      items: ref('FoundCode'),
      description: 'one-time codes extracted at delivery, most likely first',
    },
    links: { type: 'array', items: ref('FoundLink'), description: 'links extracted at delivery' },
  }),
  FoundCode: obj({
    code: {
      type: 'string',
      description:
        'a likely one-time code (4-8 digits, also split as "123 456", or an upper-case token near a code word)',
    },
    found_in: { type: 'array', items: FOUND_IN, minItems: 1 },
    context: { type: 'string', description: 'the text around the code' },
  }),
  FoundLink: obj({
    url: { type: 'string', description: 'an http(s) link from the text or html part' },
    text: nullable({ type: 'string' }),
    found_in: { type: 'array', items: FOUND_IN, minItems: 1 },
  }),
};
