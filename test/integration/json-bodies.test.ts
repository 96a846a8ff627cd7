import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

/** A raw body, as a client library or curl sends it. */
const send = (sys: System, method: string, path: string, body: string, token?: string) =>
  sys.json(path, { method, body, token, headers: { 'content-type': 'application/json' } });

test('POST /mailboxes takes its fields as a JSON body: ttl_minutes, domain', async (t) => {
  const { sys } = t.context;
  const anon = await call(sys, 'POST', '/api/v1/mailboxes', { body: { ttl_minutes: 5 } });
  t.is(anon.status, 201, JSON.stringify(anon.body));
  t.is(anon.body.ttl_minutes, 5);
  const { apiKey } = await createTenant(sys);
  const keyed = await call(sys, 'POST', '/api/v1/mailboxes', {
    token: apiKey,
    body: { ttl_minutes: 7, domain: 'other.test' },
  });
  t.is(keyed.status, 201);
  t.is(keyed.body.ttl_minutes, 7);
  t.regex(keyed.body.address, /@other\.test$/);
  // an empty object and no body at all are both "nothing given"; query parameters keep working
  t.is((await send(sys, 'POST', '/api/v1/mailboxes', '{}')).status, 201);
  const query = await sys.json('/api/v1/mailboxes?ttl_minutes=9', { method: 'POST' });
  t.is(query.body.ttl_minutes, 9);
});

test('PATCH /mailboxes/{address} takes ttl_minutes as a JSON body', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const r = await call(sys, 'PATCH', `/api/v1/mailboxes/${box.address}`, {
    token: box.token,
    body: { ttl_minutes: 20 },
  });
  t.is(r.status, 200, JSON.stringify(r.body));
  t.is(r.body.ttl_minutes, 20);
  t.is(Date.parse(r.body.expires_at) - Date.parse(box.created_at), 20 * 60_000);
  const none = await call(sys, 'PATCH', `/api/v1/mailboxes/${box.address}`, { token: box.token, body: {} });
  t.is(none.status, 400);
  t.is(none.body.error.code, 'invalid_ttl_minutes');
});

test('bad JSON, an unknown field, a wrong type, a non-object: 400 naming the problem', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (const [method, path, token] of [
    ['POST', '/api/v1/mailboxes', undefined],
    ['PATCH', `/api/v1/mailboxes/${box.address}`, box.token],
  ] as const) {
    const broken = await send(sys, method, path, '{"ttl_minutes": 5', token);
    t.is(broken.status, 400);
    t.is(broken.body.error.code, 'invalid_json');
    const unknown = await send(sys, method, path, '{"ttl": 5}', token);
    t.is(unknown.status, 400);
    t.is(unknown.body.error.code, 'invalid_body');
    t.regex(unknown.body.error.message, /"ttl"/);
    for (const bad of ['"5"', '0', '1.5', '-3', 'null', 'true']) {
      const wrong = await send(sys, method, path, `{"ttl_minutes": ${bad}}`, token);
      t.is(wrong.status, 400, `${method} ttl_minutes: ${bad}`);
      t.is(wrong.body.error.code, 'invalid_body');
      t.regex(wrong.body.error.message, /ttl_minutes/);
    }
    const array = await send(sys, method, path, '[{"ttl_minutes": 5}]', token);
    t.is(array.status, 400);
    t.is(array.body.error.code, 'invalid_body');
  }
  const form = await sys.json('/api/v1/mailboxes', {
    method: 'POST',
    body: 'ttl_minutes=5',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.is(form.status, 400);
  t.is(form.body.error.code, 'invalid_json');
  t.regex(form.body.error.message, /form-encoded bodies are not read: send a JSON object, or query parameters/);
  const domain = await send(sys, 'POST', '/api/v1/mailboxes', '{"domain": 5}');
  t.is(domain.status, 400);
  t.regex(domain.body.error.message, /domain/);
});

test('a body over 64 KiB is a 413', async (t) => {
  const { sys } = t.context;
  const r = await send(sys, 'POST', '/api/v1/mailboxes', JSON.stringify({ domain: 'x'.repeat(70 * 1024) }));
  t.is(r.status, 413);
  t.is(r.body.error.code, 'payload_too_large');
});

test('a field given as a query parameter and in the body: the same value is fine, different values are 400 conflicting_parameters', async (t) => {
  const { sys } = t.context;
  const same = await send(sys, 'POST', '/api/v1/mailboxes?ttl_minutes=5', '{"ttl_minutes": 5}');
  t.is(same.status, 201);
  t.is(same.body.ttl_minutes, 5);
  const differ = await send(sys, 'POST', '/api/v1/mailboxes?ttl_minutes=5', '{"ttl_minutes": 6}');
  t.is(differ.status, 400);
  t.is(differ.body.error.code, 'conflicting_parameters');
  t.regex(differ.body.error.message, /ttl_minutes/);
  const box = await sys.createMailbox();
  const patch = await send(
    sys,
    'PATCH',
    `/api/v1/mailboxes/${box.address}?ttl_minutes=10`,
    '{"ttl_minutes": 11}',
    box.token,
  );
  t.is(patch.status, 400);
  t.is(patch.body.error.code, 'conflicting_parameters');
  const domains = await send(
    sys,
    'POST',
    '/api/v1/mailboxes?domain=mw.test',
    '{"domain": "other.test"}',
    (await createTenant(sys)).apiKey,
  );
  t.is(domains.body.error.code, 'conflicting_parameters');
});

test('the OpenAPI document describes the JSON bodies of POST and PATCH /mailboxes', async (t) => {
  const { sys } = t.context;
  const doc = (await sys.json('/api/v1/openapi.json')).body;
  // a hosted mailbox's fields, or a connected mailbox's account (docs/connected.md)
  t.deepEqual(doc.paths['/api/v1/mailboxes'].post.requestBody.content['application/json'].schema, {
    oneOf: [{ $ref: '#/components/schemas/MailboxCreate' }, { $ref: '#/components/schemas/ConnectedMailboxCreate' }],
  });
  t.deepEqual(doc.paths['/api/v1/mailboxes/{address}'].patch.requestBody.content['application/json'].schema, {
    oneOf: [{ $ref: '#/components/schemas/MailboxTtlChange' }, { $ref: '#/components/schemas/ConnectedMailboxUpdate' }],
  });
  t.deepEqual(Object.keys(doc.components.schemas.MailboxCreate.properties).sort(), [
    'domain',
    'local_part',
    'ttl_minutes',
  ]);
  t.truthy(doc.paths['/api/v1/mailboxes'].post.responses['409']);
});
