import anyTest, { type TestFn } from 'ava';
import { connect } from 'node:net';
import { openSse } from '../helpers/stream-clients.js';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

/**
 * Found by an audit of the running API (2026-12-02): path spellings that bypassed the rate limits, a key
 * revocation that left streams open, flags that ignored bad values, parser errors with an empty body.
 * Serial: the first test spends the anonymous create budget of 127.0.0.1.
 */
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({
    roles: ['web', 'smtp', 'worker'],
    env: { RATE_LIMIT_CREATE_IP_POINTS: '2', RATE_LIMIT_CREATE_IP_WINDOW_S: '600', TRUSTED_PROXY_HOPS: '0' },
  });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test.serial(
  'a route spelled in another case is a 404, and is counted against the rate limits like the canonical path',
  async (t) => {
    const { sys } = t.context;
    const tenant = await createTenant(sys);
    for (let i = 0; i < 2; i++) t.is((await call(sys, 'POST', '/api/v1/mailboxes')).status, 201);
    t.is((await call(sys, 'POST', '/api/v1/mailboxes')).status, 429, 'the anonymous create budget is spent');
    // @koa/router matched these case-insensitively while the limiter did not recognise them: they created mailboxes
    for (const path of ['/API/v1/mailboxes', '/api/V1/mailboxes', '/api/v1/Mailboxes', '/Api/V1/Mailboxes/']) {
      const r = await call(sys, 'POST', path);
      t.is(r.status, 429, path);
      t.is(r.body.error.code, 'rate_limited', path);
    }
    // with a credential: a 404, charged to the credential's budget (RateLimit headers), never the handler
    for (const path of ['/API/v1/keys', '/api/v1/KEYS', '/api/V1/mailboxes']) {
      const r = await call(sys, 'GET', path, { token: tenant.apiKey });
      t.is(r.status, 404, path);
      t.is(r.body.error.code, 'not_found', path);
      t.truthy(r.headers.get('ratelimit-limit'), `${path}: counted`);
    }
    t.is(
      (await call(sys, 'GET', '/api/v1/keys', { token: tenant.apiKey })).status,
      200,
      'the canonical spelling works',
    );
  },
);

test.serial('revoking an API key by its id in upper case ends its SSE stream and its blocking wait', async (t) => {
  const { sys } = t.context;
  const tenant = await createTenant(sys);
  const created = await call(sys, 'POST', '/api/v1/keys', { token: tenant.apiKey, body: { name: 'to revoke' } });
  t.is(created.status, 201);
  const key: string = created.body.key;
  const id: string = created.body.id;
  const box = await sys.createMailbox('?ttl_minutes=60', tenant.apiKey);

  const stream = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${box.address}/events`, { token: key });
  t.is(stream.status, 200);
  await stream.next((e) => e.event === 'ready');
  const waiting = call(sys, 'GET', `/api/v1/mailboxes/${box.address}/messages?wait=20&subject=never`, { token: key });
  await new Promise((r) => setTimeout(r, 300)); // the wait is registered

  const started = Date.now();
  t.is((await call(sys, 'DELETE', `/api/v1/keys/${id.toUpperCase()}`, { token: tenant.apiKey })).status, 204);
  await stream.inbox.ended(3_000);
  t.deepEqual(stream.inbox.all.at(-1), { event: 'api_key_revoked', data: { type: 'api_key_revoked' } });
  const waited = await waiting;
  t.is(waited.status, 401);
  t.true(Date.now() - started < 3_000, `the wait ended after ${Date.now() - started} ms, not at its deadline`);
  t.is((await call(sys, 'GET', `/api/v1/mailboxes/${box.address}`, { token: key })).status, 401);
});

test.serial('list flags accept only true or false, for every credential', async (t) => {
  const { sys } = t.context;
  const tenant = await createTenant(sys);
  const box = await sys.createMailbox('?ttl_minutes=60', tenant.apiKey);
  const messages = `/api/v1/mailboxes/${box.address}/messages`;
  for (const q of ['unread=yes', 'unread', 'unread=true&unread=false', 'unread=TRUE']) {
    const r = await call(sys, 'GET', `${messages}?${q}`, { token: box.token });
    t.is(r.status, 400, q);
    t.is(r.body.error.code, 'invalid_unread', q);
  }
  for (const q of ['unread=true', 'unread=false'])
    t.is((await call(sys, 'GET', `${messages}?${q}`, { token: box.token })).status, 200, q);

  for (const q of ['include_inactive=yes', 'include_inactive=']) {
    const r = await call(sys, 'GET', `/api/v1/mailboxes?${q}`, { token: tenant.apiKey });
    t.is(r.status, 400, q);
    t.is(r.body.error.code, 'invalid_include_inactive', q);
  }
  // a mailbox token lists its one mailbox, but its parameters are checked as an API key's are
  for (const [q, code] of [
    ['limit=abc', 'invalid_limit'],
    ['include_inactive=1', 'invalid_include_inactive'],
  ]) {
    const r = await call(sys, 'GET', `/api/v1/mailboxes?${q}`, { token: box.token });
    t.is(r.status, 400, q);
    t.is(r.body.error.code, code, q);
  }
  t.is((await call(sys, 'GET', '/api/v1/mailboxes?include_inactive=true', { token: tenant.apiKey })).status, 200);
});

/** One raw HTTP exchange: what Node's parser refuses never reaches fetch's side of things. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      reply += d;
    });
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer; so far: ${reply}`));
    });
  });
}

test.serial('requests the HTTP parser refuses get the JSON error shape', async (t) => {
  const port = t.context.sys.web!.port;
  const cases: Array<[string, number, string]> = [
    [`GET /api/v1/mailboxes/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
    ['POST /api/v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'malformed_request'],
    ['NOT A REQUEST\r\n\r\n', 400, 'malformed_request'],
  ];
  for (const [request, status, code] of cases) {
    const reply = await rawHttp(port, request);
    const [head, body] = reply.split('\r\n\r\n');
    t.regex(head!, new RegExp(`^HTTP/1\\.1 ${status} `), request.slice(0, 30));
    t.regex(head!, /content-type: application\/json/i);
    t.is(JSON.parse(body!).error.code, code, request.slice(0, 30));
  }
});

test.serial('a token ttl_minutes of any size is capped, not refused; a fraction still is', async (t) => {
  const { sys } = t.context;
  const tenant = await createTenant(sys);
  const box = await sys.createMailbox('?ttl_minutes=60', tenant.apiKey);
  const tokens = `/api/v1/mailboxes/${box.address}/tokens`;
  const huge = await sys.api(tokens, {
    method: 'POST',
    token: tenant.apiKey,
    headers: { 'content-type': 'application/json' },
    body: '{"permissions":["read"],"ttl_minutes":1e300}',
  });
  t.is(huge.status, 201);
  const body = (await huge.json()) as { expires_at: string };
  t.true(
    Date.parse(body.expires_at) <=
      Date.parse(
        (
          (await (await sys.api(`/api/v1/mailboxes/${box.address}`, { token: tenant.apiKey })).json()) as {
            expires_at: string;
          }
        ).expires_at,
      ),
    'capped at the end of the mailbox',
  );
  t.is(huge.headers.get('cache-control'), 'no-store');
  const fraction = await call(sys, 'POST', tokens, {
    token: tenant.apiKey,
    body: { permissions: ['read'], ttl_minutes: 1.5 },
  });
  t.is(fraction.status, 400);
  t.is(fraction.body.error.code, 'invalid_body');
});

test.serial('the mailbox creation response, which carries its token, is not cached', async (t) => {
  const { sys } = t.context;
  const tenant = await createTenant(sys);
  const r = await call(sys, 'POST', '/api/v1/mailboxes?ttl_minutes=5', { token: tenant.apiKey });
  t.is(r.status, 201);
  t.truthy(r.body.token);
  t.is(r.headers.get('cache-control'), 'no-store');
});
