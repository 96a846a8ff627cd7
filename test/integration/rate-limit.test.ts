import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';
import { openSse, openWs, wsUrl } from '../helpers/stream-clients.js';
import { call, createTenant } from '../helpers/tenants.js';

/** Tiny budgets so each limit is reached in a handful of requests. */
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({
    roles: ['web', 'smtp'],
    env: {
      RATE_LIMIT_IP_POINTS: '10000',
      RATE_LIMIT_CREDENTIAL_POINTS: '5',
      RATE_LIMIT_CREATE_IP_POINTS: '2',
      RATE_LIMIT_CREATE_IP_WINDOW_S: '600',
      RATE_LIMIT_CREATE_CREDENTIAL_POINTS: '3',
      SMTP_CONNECTIONS_PER_IP: '2',
      TRUSTED_PROXY_HOPS: '0',
    },
  });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const rateHeaders = (h: Headers) => ({
  limit: Number(h.get('ratelimit-limit')),
  remaining: Number(h.get('ratelimit-remaining')),
  reset: Number(h.get('ratelimit-reset')),
});

test('a credential over its budget gets 429 with Retry-After; other tenants are unaffected', async (t) => {
  const { sys } = t.context;
  const a = await createTenant(sys);
  const b = await createTenant(sys);
  const remaining: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await call(sys, 'GET', '/api/v1/keys', { token: a.apiKey });
    t.is(r.status, 200);
    remaining.push(rateHeaders(r.headers).remaining);
  }
  t.deepEqual(remaining, [4, 3, 2, 1, 0]);
  const refused = await call(sys, 'GET', '/api/v1/keys', { token: a.apiKey });
  t.is(refused.status, 429);
  t.is(refused.body.error.code, 'rate_limited');
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.true(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  t.deepEqual(rateHeaders(refused.headers), { limit: 5, remaining: 0, reset: retryAfter });

  const other = await call(sys, 'GET', '/api/v1/keys', { token: b.apiKey });
  t.is(other.status, 200, 'tenant B still has its own budget');
  t.is(rateHeaders(other.headers).remaining, 4);
});

test('anonymous mailbox creation has its own per-IP budget; X-Forwarded-For does not reset it', async (t) => {
  const { sys } = t.context;
  const first = await sys.createMailbox();
  await sys.createMailbox();
  const refused = await call(sys, 'POST', '/api/v1/mailboxes', { headers: { 'x-forwarded-for': '203.0.113.9' } });
  t.is(refused.status, 429);
  t.truthy(refused.headers.get('retry-after'));
  t.is(rateHeaders(refused.headers).limit, 2);

  const read = await call(sys, 'GET', `/api/v1/mailboxes/${first.address}`, { token: first.token });
  t.is(read.status, 200, 'reads use a separate budget');
  const user = await createTenant(sys);
  const keyed = await call(sys, 'POST', '/api/v1/mailboxes', { token: user.apiKey });
  t.is(keyed.status, 201, 'creation with an API key has its own budget');
  t.is(rateHeaders(keyed.headers).limit, 3);
});

test('RateLimit-* headers are on every API response, errors included, and not on health checks', async (t) => {
  const { sys } = t.context;
  const responses = [
    await call(sys, 'GET', '/api/v1/no-such-route'),
    await call(sys, 'GET', '/api/v1/mailboxes', { token: 'garbage' }),
    await call(sys, 'GET', '/api/v1/mailboxes/nobody@mw.test'),
    await call(sys, 'GET', '/api/v1/mailboxes?limit=0', { token: (await createTenant(sys)).apiKey }),
  ];
  t.deepEqual(
    responses.map((r) => r.status),
    [404, 401, 404, 400],
  );
  for (const r of responses) {
    const h = rateHeaders(r.headers);
    t.true(h.limit > 0 && h.remaining >= 0 && h.reset >= 1, JSON.stringify(h));
  }
  const health = await call(sys, 'GET', '/healthz');
  t.is(health.headers.get('ratelimit-limit'), null);
});

test('SMTP connections per client IP are limited with 421 4.7.0', async (t) => {
  const { sys } = t.context;
  const greetings: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { client, greeting } = await RawSmtp.open(sys.smtpPort);
    greetings.push(greeting);
    client.socket.destroy();
  }
  t.regex(greetings[0]!, /^220 /);
  t.regex(greetings[1]!, /^220 /);
  t.regex(greetings[2]!, /^421 4\.7\.0 /);
});

test('stream connects (SSE and WebSocket, served ahead of Koa) share the REST budget of their credential: then 429 rate_limited', async (t) => {
  const { sys } = t.context;
  const a = await createTenant(sys);
  const created = await call(sys, 'POST', '/api/v1/mailboxes', { token: a.apiKey }); // the create budget, not this one
  t.is(created.status, 201);
  const address = created.body.address as string;
  const streams: Array<{ close(): void }> = [];
  try {
    // budget 5: two REST calls, two SSE connects, one WebSocket connect
    for (let i = 0; i < 2; i++)
      t.is((await call(sys, 'GET', `/api/v1/mailboxes/${address}`, { token: a.apiKey })).status, 200);
    for (let i = 0; i < 2; i++) {
      const sse = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${address}/events`, { token: a.apiKey });
      t.is(sse.status, 200);
      streams.push(sse);
    }
    streams.push(await openWs(wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws`), { token: a.apiKey }));

    const sse = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${address}/events`, { token: a.apiKey });
    t.is(sse.status, 429);
    t.is(sse.body.error.code, 'rate_limited');
    const retryAfter = Number(sse.headers.get('retry-after'));
    t.true(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    t.is(sse.headers.get('ratelimit-remaining'), '0');
    const ws = await openWs(wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws`), { token: a.apiKey }).then(
      () => undefined,
      (err: { status: number; headers: Record<string, string>; body: { error: { code: string } } }) => err,
    );
    t.is(ws?.status, 429);
    t.is(ws?.body.error.code, 'rate_limited');
    t.true(Number(ws?.headers['retry-after']) >= 1);
    t.is(
      (await call(sys, 'GET', `/api/v1/mailboxes/${address}`, { token: a.apiKey })).status,
      429,
      'and REST is refused too: one budget',
    );
  } finally {
    for (const s of streams) s.close();
  }
});
