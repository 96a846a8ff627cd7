import test from 'ava';
import { errorBody, errorJson, isDependencyOutage, requestIdOf } from '../../src/core/error-body.js';
import { MailboxGone, ShuttingDown, TooManyRequests, Unavailable } from '../../src/core/errors.js';

test('an AppError keeps its status, code and headers; its message is shown below 500', (t) => {
  const r = errorBody(new TooManyRequests('rate limit reached (ip); retry after 3 s', { 'Retry-After': '3' }), 'req-1');
  t.deepEqual(r, {
    status: 429,
    headers: { 'Retry-After': '3' },
    body: { error: { code: 'rate_limited', message: 'rate limit reached (ip); retry after 3 s', request_id: 'req-1' } },
  });
  t.deepEqual(
    errorBody(new MailboxGone('mailbox_deleted', 'mailbox has been deleted'), 'r').body.error.code,
    'mailbox_deleted',
  );
});

test('an AppError from 500 on keeps its code but never its message', (t) => {
  const a = errorBody(new Unavailable('this server holds its maximum number of streams (STREAM_MAX_PER_PROCESS)'), 'r');
  t.deepEqual(a, {
    status: 503,
    headers: {},
    body: {
      error: { code: 'service_unavailable', message: 'a dependency is unavailable, retry shortly', request_id: 'r' },
    },
  });
  t.is(errorBody(new ShuttingDown('bye'), 'r').body.error.code, 'shutting_down');
});

test('a 5xx AppError whose message was written for the caller (messageIsPublic) shows it', (t) => {
  class Remote extends Unavailable {
    override readonly messageIsPublic = true;
  }
  t.is(
    errorBody(new Remote('the IMAP server is unavailable: ECONNREFUSED'), 'r').body.error.message,
    'the IMAP server is unavailable: ECONNREFUSED',
  );
  t.is(
    errorBody(new Unavailable('internal detail'), 'r').body.error.message,
    'a dependency is unavailable, retry shortly',
  );
});

test('an unexpected error is 500 internal_error; a dependency outage is 503 service_unavailable', (t) => {
  t.deepEqual(errorBody(new TypeError('x is undefined'), 'r'), {
    status: 500,
    headers: {},
    body: { error: { code: 'internal_error', message: 'internal error', request_id: 'r' } },
  });
  t.deepEqual(errorBody('a string', 'r').status, 500);
  t.deepEqual(errorBody(undefined, 'r').status, 500);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  t.deepEqual(errorBody(refused, 'r'), {
    status: 503,
    headers: {},
    body: {
      error: { code: 'service_unavailable', message: 'a dependency is unavailable, retry shortly', request_id: 'r' },
    },
  });
  t.true(
    isDependencyOutage(
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ),
  );
  t.true(
    isDependencyOutage(Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })),
  );
  t.false(isDependencyOutage(Object.assign(new Error('column "kind" does not exist'), { code: '42703' })));
});

test("the HTTP layer's own 4xx errors are invalid_request (payload_too_large for an oversized body), shown only when exposed", (t) => {
  t.deepEqual(
    errorBody(
      Object.assign(new Error('request entity too large'), { status: 413, expose: true, type: 'entity.too.large' }),
      'r',
    ).body.error,
    { code: 'payload_too_large', message: 'request entity too large', request_id: 'r' },
  );
  t.deepEqual(errorBody(Object.assign(new Error('secret detail'), { status: 400, expose: false }), 'r').body.error, {
    code: 'invalid_request',
    message: 'invalid request',
    request_id: 'r',
  });
});

test('without a request id (nothing was read) the body has none', (t) => {
  t.is(
    JSON.stringify(errorJson('malformed_request', 'the HTTP request could not be parsed')),
    '{"error":{"code":"malformed_request","message":"the HTTP request could not be parsed"}}',
  );
});

test("the request id is the caller's X-Request-Id when it is a plain token of 1-64 characters, else a new ULID", (t) => {
  t.is(requestIdOf('ci-run-42.step_3'), 'ci-run-42.step_3');
  for (const bad of [undefined, '', 'a b', 'x'.repeat(65), 'id\r\nX-Evil: 1', ['a', 'b']])
    t.regex(requestIdOf(bad), /^[0-9A-HJKMNP-TV-Z]{26}$/, String(bad));
});
