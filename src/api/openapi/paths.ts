import { ADDRESS, AUTHED, err, errors, json, MESSAGE_ID, noContent, ok, q, RATE_HEADERS, ref, SEC, type JsonSchema } from './helpers.js';

const list = (item: string) => ({ type: 'array', items: ref(item) });
const WAIT_ONLY = 'only with the blocking wait (any of wait/subject/from/since turns the wait mode on)';

/** Operations, mailboxes and messages (src/api/routes/health.ts, mailboxes.ts, mailbox-ttl.ts, messages.ts, src/stream/routes.ts, src/ops/*). */
export const CORE_PATHS: Record<string, JsonSchema> = {
  '/healthz': { get: { summary: 'Liveness: the process answers', tags: ['operations'], security: SEC.none, responses: { 200: { description: 'alive', content: { 'application/json': { schema: ref('Health') } } } } } },
  '/readyz': {
    get: {
      summary: 'Readiness: Postgres and Redis answer within 2 s', tags: ['operations'], security: SEC.none,
      responses: {
        200: { description: 'ready', content: { 'application/json': { schema: ref('Readiness') } } },
        503: { description: 'a dependency failed: checks.<name> is "failed: <reason>"', content: { 'application/json': { schema: ref('Readiness') } } },
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics; Bearer METRICS_TOKEN when it is set, open otherwise (not rate-limited)', tags: ['operations'], security: [{ metricsToken: [] }, {}],
      responses: {
        200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
        401: err('METRICS_TOKEN is set and the request lacks it (WWW-Authenticate: Bearer realm="metrics")'),
        405: err('any method but GET/HEAD (Allow: GET, HEAD)'),
      },
    },
  },
  '/admin/queues': {
    get: {
      summary: 'Bull Board (HTML UI for every BullMQ queue, also under /admin/queues/*); mounted only when ADMIN_USER and ADMIN_PASSWORD are set, else 404', tags: ['operations'], security: [{ adminBasic: [] }],
      responses: {
        200: { description: 'the board', content: { 'text/html': { schema: { type: 'string' } } } },
        401: { description: 'Basic credentials missing or wrong (WWW-Authenticate: Basic realm="Mailwright admin")' },
        404: err('the board is not mounted (ADMIN_USER/ADMIN_PASSWORD unset)'),
      },
    },
  },
  '/api/v1/openapi.json': {
    get: { summary: 'This document (Cache-Control: public, max-age=300)', tags: ['operations'], security: SEC.none, responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'] } } } } } },
  },
  '/api/v1/mailboxes': {
    post: {
      summary: 'Create a mailbox: anonymous (plan "anonymous") or owned with an API key (the key\'s plan); a mailbox token is refused (403 token_cannot_create)', tags: ['mailboxes'], security: SEC.optional,
      parameters: [
        q('ttl_minutes', { type: 'integer', minimum: 1 }, 'lifetime in minutes; default and cap from the plan (capped silently); or in the JSON body'),
        q('domain', { type: 'string' }, 'one of MAIL_DOMAINS (default: the first); other values are 400 invalid_domain; or in the JSON body'),
        q('local_part', { type: 'string', maxLength: 64 }, 'API key only: the local part to use instead of a random one; or in the JSON body (see MailboxCreate)'),
      ],
      requestBody: { required: false, content: json(ref('MailboxCreate')) },
      description: 'The fields may be query parameters or a JSON body (read whatever the Content-Type, at most 64 KiB; invalid JSON is 400 invalid_json, ' +
        'an unknown field or a wrong type 400 invalid_body naming it); a field given both ways with different values is 400 conflicting_parameters. ' +
        'Creation budgets come from the plan row (create_budget_points per create_budget_window_s): per API key for keyed creation, per client IP for anonymous creation (plan "anonymous"); RATE_LIMIT_CREATE_* override them when set.',
      responses: {
        201: ok('created; the mailbox token is shown only here', ref('MailboxCreated'), { ...RATE_HEADERS, Location: { description: '/api/v1/mailboxes/{address}', required: true, schema: { type: 'string' } } }),
        409: err('local_part: the address is taken, by a mailbox or by one that ended and is not purged yet (address_taken)'),
        ...errors(400, 403, 413, ...AUTHED),
      },
    },
    get: {
      summary: 'List mailboxes: an API key lists its user\'s (newest first), a mailbox token lists its own mailbox only; anonymous is 401', tags: ['mailboxes'], security: SEC.anyCredential,
      parameters: [q('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'API key only'), q('include_inactive', { type: 'string', enum: ['true', 'false'], default: 'false' }, 'API key only: include expired/deleted mailboxes')],
      responses: { 200: ok('mailboxes', list('Mailbox')), ...errors(400, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}': {
    parameters: [ADDRESS],
    get: { summary: 'Get a mailbox (token needs read)', tags: ['mailboxes'], security: SEC.anyCredential, responses: { 200: ok('mailbox', ref('Mailbox')), ...errors(403, 404, ...AUTHED) } },
    delete: {
      summary: 'Deactivate a mailbox at once (token needs manage); open streams get mailbox_expired {reason: deleted}; deleting an ended mailbox is a 204 too', tags: ['mailboxes'], security: SEC.anyCredential,
      responses: { 204: noContent('deleted'), ...errors(403, 404, ...AUTHED) },
    },
    patch: {
      summary: 'Set the TTL (token needs manage): expires_at = created_at + min(ttl_minutes, plan max); an already elapsed TTL expires the mailbox at once. Agent tokens tied to the mailbox\'s life follow.', tags: ['mailboxes'], security: SEC.anyCredential,
      parameters: [q('ttl_minutes', { type: 'integer', minimum: 1 }, 'the new lifetime, measured from created_at; or in the JSON body (given neither way: 400 invalid_ttl_minutes)')],
      requestBody: { required: false, content: json(ref('MailboxTtlChange')) },
      description: 'ttl_minutes as a query parameter or in a JSON body (as POST /api/v1/mailboxes: invalid_json, invalid_body, conflicting_parameters).',
      responses: { 200: ok('the mailbox with its new expires_at and the effective ttl_minutes', ref('MailboxTtlChanged')), ...errors(400, 403, 404, 413, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/messages': {
    parameters: [ADDRESS],
    get: {
      summary: 'List messages, newest first. With wait/subject/from/since: a filtered search that blocks up to wait seconds until something matches.', tags: ['messages'], security: SEC.anyCredential,
      description: 'Plain list: parameters limit, cursor, unread, tag; pages continue through X-Next-Cursor / Link. ' +
        'Wait mode (any of wait, subject, from, since given): parameters wait, subject, from, since, unread, limit, tag (cursor is then 400 unknown_parameter). ' +
        'Returns at once when something matches, else when an event for the mailbox arrives, else an empty array after wait seconds. ' +
        'Filters: case-insensitive substring, or /regex/ (flags ignored, matched case-insensitively, in Postgres with WAIT_REGEX_TIMEOUT_MS). ' +
        'A regex Postgres cannot compile is 400 invalid_regex; one that runs too long is 400 regex_too_expensive. If the mailbox ends during the wait: 410. Token needs read.',
      parameters: [
        q('limit', { type: 'integer', minimum: 1, default: 50 }, 'page size; at most MESSAGE_PAGE_MAX (default 200), else 400 invalid_limit'),
        q('cursor', { type: 'string', pattern: '^[0-9]{1,15}\\.[0-9]{1,15}$' }, 'plain list only: the X-Next-Cursor of the previous page (opaque)'),
        q('unread', { type: 'string', enum: ['true', 'false'] }, 'only unread messages'),
        q('tag', { type: 'string', minLength: 1, maxLength: 64 }, 'only messages whose recipient carried this tag (box+tag@…, compared lower-cased); plain list and wait mode; else 400 invalid_tag'),
        q('wait', { type: 'integer', minimum: 0 }, `seconds to block for a match; at most WAIT_MAX_SECONDS (default 300), else 400 invalid_wait; ${WAIT_ONLY}`),
        q('subject', { type: 'string', minLength: 1 }, `subject filter: substring or /regex/; at most WAIT_FILTER_MAX_LENGTH (default 200) characters; ${WAIT_ONLY}`),
        q('from', { type: 'string', minLength: 1 }, `filter on from_address: substring or /regex/; same limit; ${WAIT_ONLY}`),
        q('since', { type: 'string', pattern: '^[0-9]{1,15}$' }, `only messages committed after this cursor (a stream cursor or X-Cursor); ${WAIT_ONLY}`),
      ],
      responses: {
        200: ok('messages (wait mode: the matches, or [] when the wait ran out)', list('MessageSummary'), {
          ...RATE_HEADERS,
          'X-Next-Cursor': { schema: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' }, description: 'plain list: present when the page is full; pass as cursor' },
          Link: { schema: { type: 'string' }, description: 'plain list, with X-Next-Cursor: <path?(the request filters)&limit=N&cursor=C>; rel="next"' },
          'X-Cursor': { schema: { type: 'string', pattern: '^[0-9]+$' }, description: 'wait mode, when something matched: the cursor of the newest match; pass as since to wait for the next one' },
        }),
        ...errors(400, 403, 404, ...AUTHED),
      },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}': {
    parameters: [ADDRESS, MESSAGE_ID],
    get: { summary: 'Get a parsed message with extracted codes and links (marks it read; token needs read)', tags: ['messages'], security: SEC.anyCredential, responses: { 200: ok('message', ref('Message')), ...errors(403, 404, ...AUTHED) } },
    delete: { summary: 'Delete a message, freeing its quota (token needs manage)', tags: ['messages'], security: SEC.anyCredential, responses: { 204: noContent('deleted'), ...errors(403, 404, ...AUTHED) } },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/raw': {
    parameters: [ADDRESS, MESSAGE_ID],
    get: {
      summary: 'The message exactly as received (token needs read)', tags: ['messages'], security: SEC.anyCredential,
      responses: { 200: { description: 'RFC 5322 bytes', headers: RATE_HEADERS, content: { 'message/rfc822': { schema: { type: 'string' } } } }, ...errors(403, 404, ...AUTHED) },
    },
  },
  '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}': {
    parameters: [ADDRESS, MESSAGE_ID, { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 0, maximum: 9999 }, description: 'attachments[].index; anything else is 404 attachment_not_found' }],
    get: {
      summary: 'Download one attachment, decoded (token needs read)', tags: ['messages'], security: SEC.anyCredential,
      responses: {
        200: {
          description: 'the attachment bytes with their own Content-Type (application/octet-stream when unknown)',
          headers: { ...RATE_HEADERS, 'Content-Disposition': { required: true, schema: { type: 'string' }, description: 'attachment; filename="ascii"; filename*=UTF-8\'\'... (a name over ATTACHMENT_FILENAME_MAX_CHARS, default 255, characters is cut to that many, keeping its extension)' }, 'X-Content-Type-Options': { schema: { const: 'nosniff' } } },
          content: { '*/*': { schema: { type: 'string', contentEncoding: 'binary' } } },
        },
        ...errors(403, 404, ...AUTHED),
      },
    },
  },
  '/streams/viewer': {
    get: { summary: 'A minimal live inbox page (EventSource on /events; the token is typed into the page, never in the URL)', tags: ['streams'], security: SEC.none, responses: { 200: { description: 'HTML page (CSP, no-referrer)', content: { 'text/html': { schema: { type: 'string' } } } }, 401: { $ref: '#/components/responses/E401' } } },
  },
  '/streams/viewer.js': {
    get: { summary: 'The viewer page\'s script', tags: ['streams'], security: SEC.none, responses: { 200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } }, 401: { $ref: '#/components/responses/E401' } } },
  },
};
