import type { JsonSchema } from './helpers.js';

/** JSON Schema 2020-12 objects for the wire shapes in src/api/present.ts (snake_case). */

const ts = { type: 'string', format: 'date-time' } as const;
const nullable = (s: JsonSchema): JsonSchema => ({ ...s, type: [s.type as string, 'null'] });
const obj = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object', additionalProperties: false, required, properties,
});
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

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
const FOUND_IN = { type: 'string', enum: ['subject', 'text', 'html'] };
const AddressEntry = obj({ address: { type: 'string' }, name: { type: ['string', 'null'], description: 'the display name; null when the header gives none (as from_name)' } });

export const SCHEMAS: Record<string, JsonSchema> = {
  Error: obj({
    error: obj({
      code: { type: 'string', description: 'stable machine-readable code, e.g. mailbox_not_found' },
      message: { type: 'string' },
      request_id: { type: 'string', description: 'same as the X-Request-Id response header' },
    }, ['code', 'message']),
  }),
  MailboxCreated: obj({
    address: { type: 'string', format: 'email' },
    expires_at: ts,
    created_at: ts,
    ttl_minutes: { type: 'integer', minimum: 1 },
    token: { type: 'string', description: 'mailbox token (JWT) with read/send/manage on this mailbox; shown once' },
  }),
  MailboxCreate: {
    type: 'object', additionalProperties: false,
    description: 'The body of POST /api/v1/mailboxes (every field optional; the same names work as query parameters)',
    properties: {
      ttl_minutes: { type: 'integer', minimum: 1, description: 'lifetime in minutes; default and cap from the plan (capped silently)' },
      domain: { type: 'string', description: 'one of MAIL_DOMAINS (default: the first)' },
      local_part: {
        type: 'string', maxLength: 64, pattern: "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$",
        description: 'API key only (else 403 api_key_required): an RFC 5321 dot-atom of at most 64 octets, stored lower-case, without the tag separator (ADDRESS_TAG_SEPARATOR), else 400 invalid_local_part; ' +
          'postmaster, abuse, admin, hostmaster, webmaster, root, noreply, no-reply, mailer-daemon, bounce and bounces are 400 reserved_local_part; a taken address is 409 address_taken',
      },
    },
  },
  MailboxTtlChange: obj({ ttl_minutes: { type: 'integer', minimum: 1, description: 'the new lifetime in minutes, measured from created_at (capped by the plan)' } }, []),
  Mailbox: obj(MAILBOX),
  MailboxTtlChanged: obj({ ...MAILBOX, ttl_minutes: { type: 'integer', minimum: 1, description: 'the TTL in effect, measured from created_at (capped by the plan)' } }),
  MessageSummary: obj({
    id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' },
    from_address: nullable({ type: 'string' }),
    subject: nullable({ type: 'string' }),
    received_at: ts,
    is_read: { type: 'boolean' },
    has_attachments: { type: 'boolean' },
    tag: nullable({ type: 'string', description: 'the recipient\'s tag: mail to box+signup@domain is stored in box@domain with tag "signup" (ADDRESS_TAG_SEPARATOR); null: none' }),
  }),
  AddressEntry,
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
    cursor: { type: 'string', pattern: '^[0-9]+$', description: 'per-mailbox commit sequence; resume point for streams' },
    tag: nullable({ type: 'string', description: 'the recipient\'s tag: mail to box+signup@domain is stored in box@domain with tag "signup" (ADDRESS_TAG_SEPARATOR); null: none' }),
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
    codes: { type: 'array', items: ref('FoundCode'), description: 'one-time codes extracted at delivery, most likely first' },
    links: { type: 'array', items: ref('FoundLink'), description: 'links extracted at delivery' },
  }),
  Health: obj({ status: { type: 'string', const: 'ok' } }),
  Readiness: obj({
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    checks: obj({ postgres: { type: 'string' }, redis: { type: 'string' } }),
  }),
  FoundCode: obj({
    code: { type: 'string', description: 'a likely one-time code (4-8 digits, also split as "123 456", or an upper-case token near a code word)' },
    found_in: { type: 'array', items: FOUND_IN, minItems: 1 },
    context: { type: 'string', description: 'the text around the code' },
  }),
  FoundLink: obj({
    url: { type: 'string', description: 'an http(s) link from the text or html part' },
    text: nullable({ type: 'string' }),
    found_in: { type: 'array', items: FOUND_IN, minItems: 1 },
  }),
};
