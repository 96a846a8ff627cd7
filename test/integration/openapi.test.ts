import anyTest, { type TestFn } from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type Router from '@koa/router';
import type Koa from 'koa';
import { WebSocket } from 'ws';
import { createTokenSigner } from '../../src/access/tokens.js';
import { createApp } from '../../src/api/app.js';
import { openApiDocument, type OpenApiDocument } from '../../src/api/openapi.js';
import {
  apiKeyOf,
  expecter,
  frameValidator,
  jsonBody,
  openApiValidator,
  validatedCall,
} from '../helpers/openapi-validator.js';
import { startSystem, type System } from '../helpers/system.js';

type Ctx = { sys: System; doc: OpenApiDocument; check: ReturnType<typeof openApiValidator> };
const call = (
  t: { context: Pick<Ctx, 'sys' | 'check'> },
  template: string,
  path: string,
  init: RequestInit & { token?: string } = {},
) => validatedCall(t.context.sys, t.context.check, template, path, init);
const test = anyTest as TestFn<Ctx>;
test.before(async (t) => {
  // a small per-credential stream cap, so the 429 of the streams can be checked against the document
  const sys = await startSystem({ env: { STREAM_MAX_PER_CREDENTIAL: '2' } });
  const served = await sys.json<OpenApiDocument>('/api/v1/openapi.json');
  if (served.status !== 200) throw new Error(`openapi.json: ${served.status}`);
  t.context = { sys, doc: served.body, check: openApiValidator(served.body) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

/** The HTTP answer to a WebSocket upgrade the server must refuse (the test fails if it opens). */
function refusedUpgrade(
  url: string,
  ifOpened: string,
): Promise<{ status: number; contentType: string | null; body: unknown }> {
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.on('error', () => undefined); // the refused upgrade is the expected outcome
    socket.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => req.destroy());
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? null,
          body: JSON.parse(text),
        }),
      );
    });
    socket.once('open', () => {
      socket.close();
      reject(new Error(ifOpened));
    });
  });
}

test('the served document is valid OpenAPI 3.1 with resolvable 2020-12 schemas', (t) => {
  const { doc } = t.context;
  t.is(doc.openapi, '3.1.0');
  t.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument('/'))));
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(doc, 'openapi.json');
  for (const name of Object.keys(doc.components.schemas))
    t.truthy(ajv.getSchema(`openapi.json#/components/schemas/${name}`), name);
});

test('every route the web role serves is described, and every described path is served', (t) => {
  const { sys, doc } = t.context;
  // the real app, with the optional stream routers built too (same enumeration as the access matrix)
  const app: Koa = createApp({
    ...sys.deps,
    streams: {} as never,
    plans: sys.deps.stores.plans,
    signer: createTokenSigner(sys.config.tokenSecret!),
  });
  const served = new Set<string>();
  for (const mw of app.middleware as Array<{ router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      const template = String(layer.path)
        .replace(/:(\w+)/g, '{$1}')
        .replace(/(.)\/$/, '$1');
      served.add(template);
      for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
        t.truthy(doc.paths[template]?.[method.toLowerCase()], `${method} ${template}`);
      }
    }
  }
  t.true(served.size >= 15, `enumerated ${served.size} routes`);
  // served outside the routers: the SSE handler and the WebSocket upgrade (ahead of Koa), /metrics and Bull Board (mounts)
  const outside = ['/api/v1/mailboxes/{address}/events', '/api/v1/mailboxes/{address}/ws', '/metrics', '/admin/queues'];
  for (const path of Object.keys(doc.paths))
    t.true(served.has(path) || outside.includes(path), `${path} is described but not served`);
  t.false(JSON.stringify(doc).includes('x-mailwright-issue'), 'no unverified entries left');
});

test('real responses match the document: create, list, get, raw, attachment, delete and errors', async (t) => {
  const { sys } = t.context;
  const expectOk = expecter(t);

  const created = await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?ttl_minutes=10', { method: 'POST' });
  expectOk(created, 201, 'create');
  const { address, token } = created.body as { address: string; token: string };
  const enc = encodeURIComponent(address);

  const key = { key: await apiKeyOf(sys) };
  expectOk(
    await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes', { method: 'POST', token: key.key }),
    201,
    'create owned',
  );
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?limit=10', { token: key.key }), 200, 'list as user');
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes', { token }), 200, 'list as token');
  expectOk(await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token }), 200, 'get mailbox');

  await sys.send({
    to: address,
    subject: 'openapi',
    text: 'plain',
    html: '<p>html</p>',
    cc: 'cc@example.org',
    replyTo: 'r@example.org',
    attachments: [
      { filename: 'a.txt', content: 'attached' },
      { filename: 'b.bin', content: Buffer.from([0, 1, 2]) },
    ],
  });
  await sys.send({ to: address, subject: 'second', text: 'x' });
  await sys.waitForMessages(address, token, 2);

  const list = await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages?limit=1`, {
    token,
  });
  expectOk(list, 200, 'list messages (page)');
  t.truthy(list.headers.get('x-next-cursor'));
  const all = await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages`, { token });
  expectOk(all, 200, 'list messages');
  const id = (all.body as Array<{ id: string; subject: string }>).find((m) => m.subject === 'openapi')!.id;

  const full = await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/${id}`, {
    token,
  });
  expectOk(full, 200, 'get message');
  t.is((full.body as { attachments: unknown[] }).attachments.length, 2);
  const raw = await call(
    t,
    '/api/v1/mailboxes/{address}/messages/{id}/raw',
    `/api/v1/mailboxes/${enc}/messages/${id}/raw`,
    { token },
  );
  expectOk(raw, 200, 'raw');
  t.regex(raw.body as string, /Subject: openapi/);
  const att = await call(
    t,
    '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}',
    `/api/v1/mailboxes/${enc}/messages/${id}/attachments/0`,
    { token },
  );
  expectOk(att, 200, 'attachment');
  t.is(att.body, 'attached');

  // errors
  expectOk(
    await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?bogus=1', { method: 'POST' }),
    400,
    'unknown parameter',
  );
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes'), 401, 'list anonymously');
  expectOk(
    await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token: 'not-a-credential' }),
    401,
    'bad credential',
  );
  expectOk(
    await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token: key.key }),
    404,
    'other tenant',
  );
  expectOk(
    await call(
      t,
      '/api/v1/mailboxes/{address}/messages/{id}',
      `/api/v1/mailboxes/${enc}/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      { token },
    ),
    404,
    'no such message',
  );
  expectOk(
    await call(
      t,
      '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}',
      `/api/v1/mailboxes/${enc}/messages/${id}/attachments/9`,
      { token },
    ),
    404,
    'no such attachment',
  );
  expectOk(
    await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/${id}`, {
      method: 'DELETE',
      token,
    }),
    204,
    'delete message',
  );
  expectOk(
    await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { method: 'DELETE', token }),
    204,
    'delete mailbox',
  );
  expectOk(
    await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages`, { token }),
    410,
    'deleted mailbox',
  );

  expectOk(await call(t, '/healthz', '/healthz'), 200, 'healthz');
  expectOk(await call(t, '/readyz', '/readyz'), 200, 'readyz');
  expectOk(await call(t, '/metrics', '/metrics'), 200, 'metrics');
});

test('the validator catches a response that drifts from the document', (t) => {
  const problems = t.context.check('/api/v1/mailboxes/{address}', 'GET', {
    status: 200,
    contentType: 'application/json',
    body: { address: 'x@y.test', surprise: true },
  });
  t.true(problems.some((p) => /additional/.test(p)));
  t.true(problems.some((p) => /required/.test(p)));
  t.deepEqual(
    t.context.check('/api/v1/mailboxes/{address}', 'GET', { status: 418, contentType: 'application/json', body: {} }),
    ['GET /api/v1/mailboxes/{address} does not document status 418'],
  );
  const created = {
    address: 'a@mw.test',
    expires_at: new Date().toISOString(),
    created_at: new Date().toISOString(),
    ttl_minutes: 1,
    token: 'x',
  };
  t.deepEqual(
    t.context.check('/api/v1/mailboxes', 'POST', {
      status: 201,
      contentType: 'application/json',
      body: created,
      headers: new Headers(),
    }),
    ['POST /api/v1/mailboxes 201: required header Location is missing'],
  );
  t.deepEqual(
    t.context.check('/api/v1/mailboxes', 'POST', {
      status: 201,
      contentType: 'application/json',
      body: created,
      headers: new Headers({ location: '/x' }),
    }),
    [],
  );
});

test('real responses match the document: PATCH ttl, mailbox tokens, API keys and their errors', async (t) => {
  const { sys } = t.context;
  const expectOk = expecter(t);
  const { address, token } = await sys.createMailbox('?ttl_minutes=10');
  const enc = encodeURIComponent(address);
  const MB = '/api/v1/mailboxes/{address}';
  const patched = await call(t, MB, `/api/v1/mailboxes/${enc}?ttl_minutes=30`, { method: 'PATCH', token });
  expectOk(patched, 200, 'patch ttl');
  t.is((patched.body as { ttl_minutes: number }).ttl_minutes, 30);
  expectOk(await call(t, MB, `/api/v1/mailboxes/${enc}`, { method: 'PATCH', token }), 400, 'patch without ttl_minutes');

  const TOKENS = '/api/v1/mailboxes/{address}/tokens';
  const minted = await call(t, TOKENS, `/api/v1/mailboxes/${enc}/tokens`, {
    ...jsonBody('POST', { name: 'reader', permissions: ['read'], ttl_minutes: 5 }),
    token,
  });
  expectOk(minted, 201, 'mint token');
  const reader = minted.body as { jti: string; token: string };
  expectOk(
    await call(t, TOKENS, `/api/v1/mailboxes/${enc}/tokens`, {
      ...jsonBody('POST', { permissions: ['read'], mailbox_id: 'x' }),
      token,
    }),
    400,
    'mint: unknown field',
  );
  expectOk(
    await call(t, TOKENS, `/api/v1/mailboxes/${enc}/tokens`, {
      ...jsonBody('POST', { permissions: ['read'] }),
      token: reader.token,
    }),
    403,
    'mint without manage',
  );
  const listed = await call(t, TOKENS, `/api/v1/mailboxes/${enc}/tokens`, { token });
  expectOk(listed, 200, 'list tokens');
  t.true((listed.body as Array<{ jti: string }>).some((r) => r.jti === reader.jti));
  expectOk(
    await call(t, MB, `/api/v1/mailboxes/${enc}`, { method: 'DELETE', token: reader.token }),
    403,
    'delete mailbox without manage',
  );
  const REVOKE = '/api/v1/mailboxes/{address}/tokens/{jti}';
  expectOk(
    await call(t, REVOKE, `/api/v1/mailboxes/${enc}/tokens/${reader.jti}`, { method: 'DELETE', token }),
    204,
    'revoke token',
  );
  expectOk(
    await call(t, REVOKE, `/api/v1/mailboxes/${enc}/tokens/no-such-jti`, { method: 'DELETE', token }),
    404,
    'revoke unknown token',
  );
  expectOk(await call(t, MB, `/api/v1/mailboxes/${enc}`, { token: reader.token }), 401, 'revoked token');

  const apiKey = await apiKeyOf(sys);
  const made = await call(t, '/api/v1/keys', '/api/v1/keys', { ...jsonBody('POST', { name: 'ci' }), token: apiKey });
  expectOk(made, 201, 'create key');
  t.is(made.headers.get('cache-control'), 'no-store');
  expectOk(
    await call(t, '/api/v1/keys', '/api/v1/keys', { method: 'POST', token: apiKey }),
    201,
    'create key without body',
  );
  expectOk(
    await call(t, '/api/v1/keys', '/api/v1/keys', { ...jsonBody('POST', { plan: 'pro' }), token: apiKey }),
    400,
    'create key: unknown field',
  );
  expectOk(
    await call(t, '/api/v1/keys', '/api/v1/keys', { method: 'POST', token }),
    403,
    'create key with a mailbox token',
  );
  expectOk(await call(t, '/api/v1/keys', '/api/v1/keys', { method: 'POST' }), 401, 'create key anonymously');
  const keys = await call(t, '/api/v1/keys', '/api/v1/keys', { token: apiKey });
  expectOk(keys, 200, 'list keys');
  t.is((keys.body as unknown[]).length, 3);
  const id = (made.body as { id: string }).id;
  expectOk(
    await call(t, '/api/v1/keys/{id}', `/api/v1/keys/${id}`, { method: 'DELETE', token: apiKey }),
    204,
    'revoke key',
  );
  expectOk(
    await call(t, '/api/v1/keys/{id}', '/api/v1/keys/00000000-0000-4000-8000-000000000000', {
      method: 'DELETE',
      token: apiKey,
    }),
    404,
    'revoke unknown key',
  );
  expectOk(
    await call(t, '/api/v1/keys', '/api/v1/keys', { token: (made.body as { key: string }).key }),
    401,
    'revoked key',
  );
});

test('real responses match the document: wait (early return, timeout), extracted codes and links', async (t) => {
  const { sys } = t.context;
  const expectOk = expecter(t);
  const { address, token } = await sys.createMailbox();
  const enc = encodeURIComponent(address);
  const LIST = '/api/v1/mailboxes/{address}/messages';
  const started = Date.now();
  const pending = call(
    t,
    LIST,
    `/api/v1/mailboxes/${enc}/messages?wait=30&subject=${encodeURIComponent('/verify.+account/')}`,
    { token },
  );
  await sys.send({
    to: address,
    subject: 'Verify your account',
    text: 'Your verification code is 482913. Or open https://example.org/verify?t=abc to continue.',
  });
  const waited = await pending;
  expectOk(waited, 200, 'wait: early return');
  t.true(Date.now() - started < 30_000, 'returned before the wait ran out');
  t.is((waited.body as unknown[]).length, 1);
  t.regex(waited.headers.get('x-cursor') ?? '', /^[0-9]+$/);

  const before = Date.now();
  const empty = await call(
    t,
    LIST,
    `/api/v1/mailboxes/${enc}/messages?wait=1&subject=nothing-matches&since=${waited.headers.get('x-cursor')}`,
    { token },
  );
  expectOk(empty, 200, 'wait: timeout');
  t.deepEqual(empty.body, []);
  t.true(Date.now() - before >= 900, 'waited about 1 s');
  expectOk(
    await call(t, LIST, `/api/v1/mailboxes/${enc}/messages?wait=1&cursor=1`, { token }),
    400,
    'wait with cursor',
  );
  expectOk(await call(t, LIST, `/api/v1/mailboxes/${enc}/messages?wait=100000`, { token }), 400, 'wait too long');

  const id = (waited.body as Array<{ id: string }>)[0]!.id;
  const full = await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/${id}`, {
    token,
  });
  expectOk(full, 200, 'message with codes and links');
  const body = full.body as { codes: Array<{ code: string }>; links: Array<{ url: string }> };
  t.true(
    body.codes.some((c) => c.code === '482913'),
    JSON.stringify(body.codes),
  );
  t.true(
    body.links.some((l) => l.url === 'https://example.org/verify?t=abc'),
    JSON.stringify(body.links),
  );
});

test('real responses match the document: SSE and WebSocket handshakes and frames', async (t) => {
  const { sys } = t.context;
  const expectOk = expecter(t);
  // the frames are described by the AsyncAPI document served beside this one
  const asyncApi = await sys.json<
    Parameters<typeof frameValidator>[0] & { channels: Record<string, Record<string, any>> }
  >('/api/v1/asyncapi.json');
  t.is(asyncApi.status, 200);
  const sseFrameProblems = frameValidator(asyncApi.body, 'mailboxEvents');
  const wsFrameProblems = frameValidator(asyncApi.body, 'mailboxWebSocket');
  const { address, token } = await sys.createMailbox();
  const enc = encodeURIComponent(address);
  const EVENTS = '/api/v1/mailboxes/{address}/events';
  expectOk(await call(t, EVENTS, `/api/v1/mailboxes/${enc}/events`), 401, 'sse without credential');
  expectOk(
    await call(t, EVENTS, `/api/v1/mailboxes/${enc}/events?token=${token}&bogus=1`),
    400,
    'sse unknown parameter',
  );
  expectOk(await call(t, EVENTS, `/api/v1/mailboxes/nobody%40mw.test/events?token=${token}`), 404, 'sse other mailbox');

  const ac = new AbortController();
  const res = await sys.api(`/api/v1/mailboxes/${enc}/events?token=${token}`, { signal: ac.signal });
  t.deepEqual(
    t.context.check(EVENTS, 'GET', {
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: '',
      headers: res.headers,
    }),
    [],
  );
  t.is(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  const deadline = Date.now() + 10_000;
  while (!/event: ready\ndata: .*\n\n/.test(text) && Date.now() < deadline)
    text += new TextDecoder().decode((await reader.read()).value);
  ac.abort();
  const [, event, data] = /event: (\w+)\ndata: (.*)\n/.exec(text)!;
  t.is(event, 'ready');
  t.deepEqual(sseFrameProblems(JSON.parse(data!), event), []);

  const WS = '/api/v1/mailboxes/{address}/ws';
  const wsUrl = (mailbox: string) =>
    `${sys.baseUrl.replace('http', 'ws')}/api/v1/mailboxes/${encodeURIComponent(mailbox)}/ws?token=${token}`;
  const ws = new WebSocket(wsUrl(address));
  const first = await new Promise<unknown>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse((data as Buffer).toString())));
    ws.once('error', reject);
  });
  t.deepEqual(t.context.check(WS, 'GET', { status: 101, contentType: null, body: '' }), []);
  t.deepEqual(wsFrameProblems(first), []);
  t.is((first as { type: string }).type, 'ready');
  // x-close-codes: a client message over 4 KiB closes the socket with 1009; messages up to 4 KiB are ignored
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send('x'.repeat(4 * 1024));
  ws.send('x'.repeat(4 * 1024 + 1));
  t.is(await closed, 1009);
  t.truthy(asyncApi.body.channels.mailboxWebSocket?.['x-close-codes'][1009]);
  const answer = await refusedUpgrade(wsUrl('nobody@mw.test'), 'upgrade to a foreign mailbox was accepted');
  t.is(answer.status, 404);
  t.deepEqual(t.context.check(WS, 'GET', answer), []);

  // a credential at STREAM_MAX_PER_CREDENTIAL (2 here): 429 too_many_streams, on both transports
  const capped = await sys.createMailbox();
  const cappedWs = `${sys.baseUrl.replace('http', 'ws')}/api/v1/mailboxes/${encodeURIComponent(capped.address)}/ws?token=${capped.token}`;
  const held = [new WebSocket(cappedWs), new WebSocket(cappedWs)];
  await Promise.all(
    held.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const over = await call(
    t,
    EVENTS,
    `/api/v1/mailboxes/${encodeURIComponent(capped.address)}/events?token=${capped.token}`,
  );
  expectOk(over, 429, 'sse over the per-credential cap');
  t.is((over.body as { error: { code: string } }).error.code, 'too_many_streams');
  const overAnswer = await refusedUpgrade(cappedWs, 'an upgrade over the per-credential cap was accepted');
  t.is(overAnswer.status, 429);
  t.is((overAnswer.body as { error: { code: string } }).error.code, 'too_many_streams');
  t.deepEqual(t.context.check(WS, 'GET', overAnswer), []);
  for (const w of held) w.close();
  for (const bad of [
    { type: 'new_message', cursor: '1' },
    { type: 'mailbox_expired', reason: 'gone' },
  ])
    t.notDeepEqual(wsFrameProblems(bad), []);
  // each transport's own frames: SSE has no ping frame (a comment instead), the WebSocket no farewell events (close codes instead)
  t.notDeepEqual(sseFrameProblems({ type: 'ping' }), []);
  t.notDeepEqual(wsFrameProblems({ type: 'token_revoked' }), []);
  t.deepEqual(sseFrameProblems({ type: 'token_revoked' }), []);
});

test('real responses match the document: SES ingestion (404 disabled, 403 refused) and 429 rate limited', async (t) => {
  const { sys } = t.context;
  const expectOk = expecter(t);
  const SES = '/api/v1/ingest/ses';
  const sns = {
    Type: 'Notification',
    MessageId: 'm-1',
    TopicArn: 'arn:aws:sns:eu-west-1:123456789012:mail',
    Message: '{}',
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
  };
  expectOk(await call(t, SES, SES, jsonBody('POST', sns)), 404, 'ses disabled');

  const limited = await startSystem({
    roles: ['web'],
    database: sys.database,
    env: { SES_TOPIC_ARNS: sns.TopicArn, RATE_LIMIT_CREDENTIAL_POINTS: '2' },
  });
  try {
    const other = { context: { sys: limited, check: t.context.check } };
    expectOk(
      await call(other, SES, SES, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=UTF-8' },
        body: JSON.stringify(sns),
      }),
      403,
      'ses unsigned',
    );
    expectOk(await call(other, SES, SES, { method: 'POST', body: 'not json' }), 400, 'ses not json');
    const apiKey = await apiKeyOf(limited);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call(other, '/api/v1/keys', '/api/v1/keys', { token: apiKey }));
    expectOk(answers[0]!, 200, 'within budget');
    expectOk(answers[2]!, 429, 'over budget');
    t.regex(answers[2]!.headers.get('retry-after') ?? '', /^[0-9]+$/);
  } finally {
    await limited.stop();
  }
});
