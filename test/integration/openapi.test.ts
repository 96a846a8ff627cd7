import anyTest, { type TestFn } from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { generateApiKey } from '../../src/access/api-keys.js';
import { openApiDocument, type OpenApiDocument } from '../../src/api/openapi.js';
import { mailboxRoutes } from '../../src/api/routes/mailboxes.js';
import { messageRoutes } from '../../src/api/routes/messages.js';
import { healthRoutes } from '../../src/api/routes/health.js';
import { openApiValidator } from '../helpers/openapi-validator.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; doc: OpenApiDocument; check: ReturnType<typeof openApiValidator> }>;
test.before(async (t) => {
  const sys = await startSystem();
  const served = await sys.json<OpenApiDocument>('/api/v1/openapi.json');
  if (served.status !== 200) throw new Error(`openapi.json: ${served.status}`);
  t.context = { sys, doc: served.body, check: openApiValidator(served.body) };
});
test.after.always(async (t) => { await t.context.sys?.stop(); });

/** Make a real request and validate the real response against the served document. */
async function call(t: { context: { sys: System; check: ReturnType<typeof openApiValidator> } }, template: string, path: string, init: RequestInit & { token?: string } = {}) {
  const res = await t.context.sys.api(path, init);
  const contentType = res.headers.get('content-type');
  const text = await res.text();
  const body = contentType?.startsWith('application/json') ? JSON.parse(text) : text;
  return { status: res.status, body, headers: res.headers, problems: t.context.check(template, init.method ?? 'GET', { status: res.status, contentType, body }) };
}

test('the served document is valid OpenAPI 3.1 with resolvable 2020-12 schemas', (t) => {
  const { doc } = t.context;
  t.is(doc.openapi, '3.1.0');
  t.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument('/'))));
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(doc as unknown as object, 'openapi.json');
  for (const name of Object.keys(doc.components.schemas)) t.truthy(ajv.getSchema(`openapi.json#/components/schemas/${name}`), name);
});

test('every route the web role registers is described', (t) => {
  const deps = t.context.sys.deps as never;
  const routers = [healthRoutes(deps), mailboxRoutes(deps), messageRoutes(deps)];
  const documented = t.context.doc.paths;
  for (const router of routers) {
    for (const layer of router.stack) {
      const template = String(layer.path).replace(/:(\w+)/g, '{$1}').replace(/\/$/, '') || '/';
      for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
        t.truthy((documented[template] as Record<string, unknown> | undefined)?.[method.toLowerCase()], `${method} ${template}`);
      }
    }
  }
});

test('real responses match the document: create, list, get, raw, attachment, delete and errors', async (t) => {
  const { sys } = t.context;
  const seen: string[] = [];
  const expectOk = (r: { status: number; problems: string[] }, status: number, label: string) => {
    t.is(r.status, status, label);
    t.deepEqual(r.problems, [], label);
    seen.push(`${label} ${r.status}`);
  };

  const created = await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?ttl_minutes=10', { method: 'POST' });
  expectOk(created, 201, 'create');
  const { address, token } = created.body as { address: string; token: string };
  const enc = encodeURIComponent(address);

  const user = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  const key = generateApiKey();
  await sys.deps.stores.apiKeys.insert({ userId: user.id, prefix: key.prefix, salt: key.salt, keyHash: key.hash, name: 'openapi' });
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes', { method: 'POST', token: key.key }), 201, 'create owned');
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?limit=10', { token: key.key }), 200, 'list as user');
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes', { token }), 200, 'list as token');
  expectOk(await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token }), 200, 'get mailbox');

  await sys.send({
    to: address, subject: 'openapi', text: 'plain', html: '<p>html</p>', cc: 'cc@example.org', replyTo: 'r@example.org',
    attachments: [{ filename: 'a.txt', content: 'attached' }, { filename: 'b.bin', content: Buffer.from([0, 1, 2]) }],
  });
  await sys.send({ to: address, subject: 'second', text: 'x' });
  await sys.waitForMessages(address, token, 2);

  const list = await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages?limit=1`, { token });
  expectOk(list, 200, 'list messages (page)');
  t.truthy(list.headers.get('x-next-cursor'));
  const all = await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages`, { token });
  expectOk(all, 200, 'list messages');
  const id = (all.body as Array<{ id: string; subject: string }>).find((m) => m.subject === 'openapi')!.id;

  const full = await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/${id}`, { token });
  expectOk(full, 200, 'get message');
  t.is((full.body as { attachments: unknown[] }).attachments.length, 2);
  const raw = await call(t, '/api/v1/mailboxes/{address}/messages/{id}/raw', `/api/v1/mailboxes/${enc}/messages/${id}/raw`, { token });
  expectOk(raw, 200, 'raw');
  t.regex(raw.body as string, /Subject: openapi/);
  const att = await call(t, '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}', `/api/v1/mailboxes/${enc}/messages/${id}/attachments/0`, { token });
  expectOk(att, 200, 'attachment');
  t.is(att.body, 'attached');

  // errors
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes?bogus=1', { method: 'POST' }), 400, 'unknown parameter');
  expectOk(await call(t, '/api/v1/mailboxes', '/api/v1/mailboxes'), 401, 'list anonymously');
  expectOk(await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token: 'not-a-credential' }), 401, 'bad credential');
  expectOk(await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { token: key.key }), 404, 'other tenant');
  expectOk(await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV`, { token }), 404, 'no such message');
  expectOk(await call(t, '/api/v1/mailboxes/{address}/messages/{id}/attachments/{n}', `/api/v1/mailboxes/${enc}/messages/${id}/attachments/9`, { token }), 404, 'no such attachment');
  expectOk(await call(t, '/api/v1/mailboxes/{address}/messages/{id}', `/api/v1/mailboxes/${enc}/messages/${id}`, { method: 'DELETE', token }), 204, 'delete message');
  expectOk(await call(t, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${enc}`, { method: 'DELETE', token }), 204, 'delete mailbox');
  expectOk(await call(t, '/api/v1/mailboxes/{address}/messages', `/api/v1/mailboxes/${enc}/messages`, { token }), 410, 'deleted mailbox');

  expectOk(await call(t, '/healthz', '/healthz'), 200, 'healthz');
  expectOk(await call(t, '/readyz', '/readyz'), 200, 'readyz');
  expectOk(await call(t, '/metrics', '/metrics'), 200, 'metrics');
  t.log(`validated ${seen.length} responses`);
});

test('the validator catches a response that drifts from the document', (t) => {
  const problems = t.context.check('/api/v1/mailboxes/{address}', 'GET', { status: 200, contentType: 'application/json', body: { address: 'x@y.test', surprise: true } });
  t.true(problems.some((p) => /additional/.test(p)));
  t.true(problems.some((p) => /required/.test(p)));
  t.deepEqual(t.context.check('/api/v1/mailboxes/{address}', 'GET', { status: 418, contentType: 'application/json', body: {} }), ['GET /api/v1/mailboxes/{address} does not document status 418']);
});
