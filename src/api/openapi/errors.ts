import { err, json, obj, ref } from './helpers.js';

/** The error body every edge answers with (src/api/errors.ts, the stream refusals, the HTTP parser's refusals). */
export const ERROR_SCHEMAS = {
  Error: obj({
    error: obj(
      {
        code: { type: 'string', description: 'stable machine-readable code, e.g. mailbox_not_found' },
        message: { type: 'string' },
        request_id: { type: 'string', description: 'same as the X-Request-Id response header' },
      },
      ['code', 'message'],
    ),
  }),
};

export const HEADERS = {
  'X-Request-Id': {
    description: 'the request id (echoes a valid X-Request-Id request header, else a ULID); also in error.request_id',
    schema: { type: 'string' },
  },
  'RateLimit-Limit': {
    description: 'points of the tightest budget that applied (draft RateLimit header fields)',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  'RateLimit-Remaining': { description: 'points left in that budget', schema: { type: 'string', pattern: '^[0-9]+$' } },
  'RateLimit-Reset': {
    description: 'seconds until that budget refills',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

/** A header that the response always carries (a $ref may have no `required` beside it). */
const always = (name: keyof typeof HEADERS) => ({ ...HEADERS[name], required: true });

export const ERROR_RESPONSES = {
  E400: err(
    'invalid request: unknown query parameter (unknown_parameter), bad value (invalid_<name>), invalid JSON or body (invalid_json, invalid_body), unexpected body (unexpected_body), a field given as a query parameter and in the body with different values (conflicting_parameters), a bad or reserved local_part (invalid_local_part, reserved_local_part)',
  ),
  E401: err('missing, malformed, invalid, revoked or expired credential (code unauthorized)'),
  E403: err(
    'the credential lacks the permission (insufficient_permission, api_key_required, token_cannot_create, permission_escalation) or a plan/limit was reached (mailbox_limit_reached, token_limit_reached, key_limit_reached)',
  ),
  E404: err(
    "no such mailbox / message / attachment / token / key for this caller: another tenant's object answers exactly the same 404 (mailbox_not_found, message_not_found, attachment_not_found, token_not_found, api_key_not_found)",
  ),
  E410: err(
    'the mailbox has ended (mailbox_expired, mailbox_deleted); also answered for any request made with a mailbox token whose mailbox has ended',
  ),
  E413: err('request body larger than allowed (payload_too_large): 64 KiB for JSON bodies, SES_MAX_BODY_BYTES for SNS'),
  E429: err('rate limited (rate_limited): per client IP, per credential, and for mailbox creation', {
    'Retry-After': {
      description: 'seconds to wait before retrying',
      required: true,
      schema: { type: 'string', pattern: '^[0-9]+$' },
    },
    'RateLimit-Limit': always('RateLimit-Limit'),
    'RateLimit-Remaining': always('RateLimit-Remaining'),
    'RateLimit-Reset': always('RateLimit-Reset'),
  }),
  E500: err('unexpected failure (internal_error); the message never carries details'),
  /** src/api/client-error.ts: Node's HTTP parser refused the request; no route ran, so no request id */
  EUnreadable: {
    description:
      'the request could not be read (answered by the HTTP server for any path, before any route): 400 malformed_request, 408 request_timeout, 431 headers_too_large; the body has no request_id',
    content: json(ref('Error')),
  },
  E503: err(
    'a dependency (Postgres, Redis) is unavailable or a limit of this process was reached: retry (service_unavailable)',
  ),
};
