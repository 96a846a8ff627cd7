import anyTest, { type TestFn } from 'ava';
import WebSocket from 'ws';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

const test = anyTest as TestFn<{ sys: System; key: string }>;
test.before(async (t) => {
  const sys = await startSystem();
  t.context = { sys, key: (await createUserWithKey(sys.deps.stores, 'pro')).key };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

// PostgreSQL text cannot hold NUL: such input is a 404 or a 400, never a 500 or a false 503
const json = { 'content-type': 'application/json' };

test('a NUL in the mailbox address is 404 mailbox_not_found on every route, streams included', async (t) => {
  const { sys, key } = t.context;
  for (const [method, path] of [
    ['GET', '/api/v1/mailboxes/%00'],
    ['GET', '/api/v1/mailboxes/a%00b@mw.test/messages'],
    ['PATCH', '/api/v1/mailboxes/a%00b@mw.test?ttl_minutes=5'],
    ['DELETE', '/api/v1/mailboxes/a%00b@mw.test'],
    ['GET', '/api/v1/mailboxes/a%00b@mw.test/tokens'],
    ['GET', '/api/v1/mailboxes/a%00b@mw.test/events'],
  ] as const) {
    const r = await sys.json(path, { method, token: key });
    t.is(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    t.is(r.body?.error?.code, 'mailbox_not_found', `${method} ${path}`);
  }
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${sys.baseUrl.replace('http', 'ws')}/api/v1/mailboxes/a%00b@mw.test/ws`, {
      headers: { authorization: `Bearer ${key}` },
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('opened'));
    });
    ws.on('error', () => undefined);
  });
  t.is(status, 404, 'WebSocket upgrade');
});

test('a NUL in a wait filter is 400 invalid_subject / invalid_from', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (const [query, code] of [
    ['wait=1&subject=%00', 'invalid_subject'],
    ['subject=/a%00/', 'invalid_subject'],
    ['wait=1&from=x%00y', 'invalid_from'],
  ]) {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?${query}`, { token: box.token });
    t.is(r.status, 400, query);
    t.is(r.body.error.code, code, query);
  }
});

test('a NUL anywhere in a JSON body is 400 invalid_body (token and key names)', async (t) => {
  const { sys, key } = t.context;
  const box = await sys.createMailbox();
  const token = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: json,
    body: '{"permissions":["read"],"name":"\\u0000"}',
  });
  t.is(token.status, 400, JSON.stringify(token.body));
  t.is(token.body.error.code, 'invalid_body');
  const apiKey = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: key,
    headers: json,
    body: '{"name":"a\\u0000b"}',
  });
  t.is(apiKey.status, 400, JSON.stringify(apiKey.body));
  t.is(apiKey.body.error.code, 'invalid_body');
  // deeply nested, NUL in a key: still a clean 400, not a crash
  const nested = `${'['.repeat(20_000)}{"\\u0000":1}${']'.repeat(20_000)}`;
  const deep = await sys.json('/api/v1/keys', { method: 'POST', token: key, headers: json, body: nested });
  t.is(deep.status, 400);
  // a backslash followed by "u0000" is not a NUL
  const fine = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: key,
    headers: json,
    body: '{"name":"a\\\\u0000b"}',
  });
  t.is(fine.status, 201, JSON.stringify(fine.body));
  t.is(fine.body.name, 'a\\u0000b');
});

test('a mailbox token without read does not list its mailbox (403, like GET /mailboxes/{address})', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const minted = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: json,
    body: '{"permissions":["send"]}',
  });
  t.is(minted.status, 201, JSON.stringify(minted.body));
  const list = await sys.json('/api/v1/mailboxes', { token: minted.body.token });
  t.is(list.status, 403);
  t.is(list.body.error.code, 'insufficient_permission');
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}`, { token: minted.body.token })).status, 403);
  t.is(
    (await sys.json('/api/v1/mailboxes', { token: box.token })).body.length,
    1,
    'the creator token (read) still lists it',
  );
});
