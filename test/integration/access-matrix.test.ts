import anyTest, { type TestFn } from 'ava';
import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import {
  apiRoutes,
  call,
  createTenant,
  fill,
  unknownParams,
  withoutRequestId,
  type RouteSpec,
  type Tenant,
} from '../helpers/tenants.js';

/**
 * Issue 6 matrix, generated from the routers the app mounts: every route that names an object
 * (mailbox, message, raw, attachment, token, key, and streams when present) is tried with tenant A's
 * API key and A's mailbox token against tenant B's objects.
 */
interface Objects {
  address: string;
  messageId: string;
  jti: string;
  keyId: string;
  /** an outbound message of the mailbox (outbound routes' `:id`) */
  outboundId: string;
}
interface Ctx {
  sink: SmtpSink;
  sys: System;
  a: Tenant;
  b: Tenant;
  aBox: { address: string; token: string };
  bBox: { address: string; token: string };
  bObjects: Objects;
  routes: RouteSpec[];
}
const test = anyTest as TestFn<Ctx>;

/** Routes of this branch: held to exact answers. Routes merged in later are held to "refused, same as nothing". */
const KNOWN = [
  'GET /api/v1/mailboxes/:address',
  'DELETE /api/v1/mailboxes/:address',
  'GET /api/v1/mailboxes/:address/messages',
  'GET /api/v1/mailboxes/:address/messages/:id',
  'DELETE /api/v1/mailboxes/:address/messages/:id',
  'GET /api/v1/mailboxes/:address/messages/:id/raw',
  'GET /api/v1/mailboxes/:address/messages/:id/attachments/:n',
  'POST /api/v1/mailboxes/:address/tokens',
  'GET /api/v1/mailboxes/:address/tokens',
  'DELETE /api/v1/mailboxes/:address/tokens/:jti',
  'POST /api/v1/keys',
  'GET /api/v1/keys',
  'DELETE /api/v1/keys/:id',
];
const isKnown = (r: RouteSpec) => KNOWN.includes(`${r.method} ${r.path}`);
/** Query strings some routes need to get past input validation to the authorization check. */
const QUERY: Record<string, string> = { 'PATCH /api/v1/mailboxes/:address': '?ttl_minutes=5' };
const url = (r: RouteSpec, params: Record<string, string>) =>
  fill(r.path, params) + (QUERY[`${r.method} ${r.path}`] ?? '');

const isKeyRoute = (path: string) => path.startsWith('/api/v1/keys');
const paramsFor = (path: string, o: Objects): Record<string, string> =>
  isKeyRoute(path)
    ? { id: o.keyId }
    : {
        address: o.address,
        id: path.includes('/outbound/') ? o.outboundId : o.messageId,
        n: '0',
        jti: o.jti,
        recipient: 'suppressed@example.org',
      };
const bodyFor = (method: string, path: string) =>
  method === 'POST' && path.endsWith('/tokens') ? { permissions: ['read'] } : undefined;
const objectRoutes = (routes: RouteSpec[]) => routes.filter((r) => r.path.includes(':'));
const mailboxRoutes = (routes: RouteSpec[]) => routes.filter((r) => r.path.includes(':address'));

const mintToken = async (sys: System, address: string, credential: string, permissions: string[]) => {
  const r = await call(sys, 'POST', `/api/v1/mailboxes/${address}/tokens`, {
    token: credential,
    body: { permissions },
  });
  if (r.status !== 201) throw new Error(`mint token: ${r.status} ${r.text}`);
  return r.body as { token: string; jti: string };
};

/** A mailbox owned by `tenant` holding one message with one attachment. */
async function mailboxWithMail(sys: System, tenant: Tenant) {
  const box = await sys.createMailbox('', tenant.apiKey);
  await sys.send({
    to: box.address,
    subject: `secret for ${box.address}`,
    text: 'private body',
    attachments: [{ filename: 'a.txt', content: 'attached' }],
  });
  const [msg] = await sys.waitForMessages(box.address, box.token, 1);
  return { box, messageId: msg.id as string };
}

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({ env: { OUTBOUND_RELAY_URL: sink.url } });
  const a = await createTenant(sys);
  const b = await createTenant(sys);
  const { box: aBox } = await mailboxWithMail(sys, a);
  const { box: bBox, messageId } = await mailboxWithMail(sys, b);
  const { jti } = await mintToken(sys, bBox.address, b.apiKey, ['read']);
  const sent = await call(sys, 'POST', `/api/v1/mailboxes/${bBox.address}/outbound`, {
    token: b.apiKey,
    body: { to: 'someone@example.org', subject: 'private', text: 'private body' },
  });
  if (sent.status !== 202) throw new Error(`send: ${sent.status} ${sent.text}`);
  t.context = {
    sink,
    sys,
    a,
    b,
    aBox,
    bBox,
    bObjects: { address: bBox.address, messageId, jti, keyId: b.keyId, outboundId: sent.body.messages[0].id },
    routes: apiRoutes(sys),
  };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

test.serial('the generated matrix covers mailboxes, messages, raw, attachments, tokens and keys', (t) => {
  const paths = t.context.routes.map((r) => `${r.method} ${r.path}`);
  for (const expected of KNOWN) t.true(paths.includes(expected), `${expected} is mounted`);
});

test.serial(
  "tenant A's API key and token get, on B's objects, exactly the 404 of objects that do not exist",
  async (t) => {
    const { sys, a, aBox, bBox, bObjects, routes } = t.context;
    const bBefore = (await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}`, { token: t.context.b.apiKey })).body;
    const nothing: Objects = {
      address: `nobody-${ulid().toLowerCase()}@${TEST_DOMAIN}`,
      messageId: ulid(),
      jti: 'nosuchjti',
      keyId: randomUUID(),
      outboundId: randomUUID(),
    };
    const credentials = [
      ['API key', a.apiKey],
      ['mailbox token', aBox.token],
    ] as const;
    for (const route of objectRoutes(routes)) {
      const missing = unknownParams(route.path, paramsFor(route.path, bObjects));
      if (missing.length)
        t.log(`${route.method} ${route.path}: no fixture for ${missing.join(', ')}; only the mailbox/key part is B's`);
      for (const [label, credential] of credentials) {
        if (isKeyRoute(route.path) && label === 'mailbox token') continue; // tokens cannot reach /keys at all (403 for any id)
        const body = bodyFor(route.method, route.path);
        const theirs = await call(sys, route.method, url(route, paramsFor(route.path, bObjects)), {
          token: credential,
          body,
        });
        const none = await call(sys, route.method, url(route, paramsFor(route.path, nothing)), {
          token: credential,
          body,
        });
        const what = `${route.method} ${route.path} with A's ${label}`;
        if (isKnown(route)) t.is(theirs.status, 404, what);
        else t.true([400, 404].includes(theirs.status), `${what}: ${theirs.status}`);
        t.deepEqual(
          withoutRequestId(theirs.body),
          withoutRequestId(none.body),
          `${what}: same body as for a non-existent object`,
        );
        t.false(
          theirs.text.includes(bBox.address) ||
            theirs.text.includes('private body') ||
            theirs.text.includes(bObjects.messageId),
          `${what}: no data of B`,
        );
      }
    }
    // B's objects are untouched
    t.deepEqual(
      (await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}`, { token: t.context.b.apiKey })).body,
      bBefore,
    );
    const m = await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}/messages/${bObjects.messageId}`, {
      token: bBox.token,
    });
    t.is(m.status, 200);
    const tokens = await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}/tokens`, { token: bBox.token });
    t.false(tokens.body.find((x: any) => x.jti === bObjects.jti).is_revoked);
    const keys = await call(sys, 'GET', '/api/v1/keys', { token: t.context.b.apiKey });
    t.is(keys.body.find((k: any) => k.id === bObjects.keyId).revoked_at, null);
  },
);

test.serial("listings never show another tenant's mailboxes, tokens or keys", async (t) => {
  const { sys, a, aBox, bBox, bObjects } = t.context;
  for (const credential of [a.apiKey, aBox.token]) {
    const boxes = await call(sys, 'GET', '/api/v1/mailboxes', { token: credential });
    t.is(boxes.status, 200);
    t.true(boxes.body.some((m: any) => m.address === aBox.address));
    t.false(boxes.text.includes(bBox.address));
  }
  const keys = await call(sys, 'GET', '/api/v1/keys', { token: a.apiKey });
  t.deepEqual(
    keys.body.map((k: any) => k.id),
    [a.keyId],
  );
  const tokens = await call(sys, 'GET', `/api/v1/mailboxes/${aBox.address}/tokens`, { token: a.apiKey });
  t.false(tokens.text.includes(bObjects.jti));
});

test.serial('a revoked token and an expired token are refused (401) on every route', async (t) => {
  const { sys, b, bBox, bObjects, routes } = t.context;
  const revoked = await mintToken(sys, bBox.address, b.apiKey, ['read', 'send', 'manage']);
  const expired = await mintToken(sys, bBox.address, b.apiKey, ['read', 'send', 'manage']);
  t.is(
    (await call(sys, 'DELETE', `/api/v1/mailboxes/${bBox.address}/tokens/${revoked.jti}`, { token: b.apiKey })).status,
    204,
  );
  await sys.deps
    .db('agent_tokens')
    .where({ jti: expired.jti })
    .update({ expires_at: new Date(Date.now() - 1000) });
  const cases = [
    ['revoked', revoked.token, 'token has been revoked'],
    ['expired', expired.token, 'token has expired'],
  ] as const;
  for (const [label, token, message] of cases) {
    for (const route of [
      ...mailboxRoutes(routes),
      { method: 'GET', path: '/api/v1/mailboxes' },
      { method: 'POST', path: '/api/v1/keys' },
    ]) {
      const r = await call(sys, route.method, url(route, paramsFor(route.path, bObjects)), {
        token,
        body: bodyFor(route.method, route.path),
      });
      t.is(r.status, 401, `${label} token: ${route.method} ${route.path}`);
      t.is(r.body.error.code, 'unauthorized');
      t.is(r.body.error.message, message);
    }
  }
  t.is((await sys.waitForMessages(bBox.address, bBox.token, 1)).length, 1, 'nothing was deleted');
});

test.serial('a read-only token cannot change anything (403 insufficient_permission) but can read', async (t) => {
  const { sys, b, bBox, bObjects, routes } = t.context;
  const ro = await mintToken(sys, bBox.address, b.apiKey, ['read']);
  const other = await mintToken(sys, bBox.address, b.apiKey, ['read']);
  const objects = { ...bObjects, jti: other.jti };
  const tokenCount = async () =>
    (await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}/tokens`, { token: b.apiKey })).body.length;
  const tokensBefore = await tokenCount();
  const before = (await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}`, { token: b.apiKey })).body;
  for (const route of mailboxRoutes(routes)) {
    const r = await call(sys, route.method, url(route, paramsFor(route.path, objects)), {
      token: ro.token,
      body: bodyFor(route.method, route.path),
    });
    const what = `read-only token: ${route.method} ${route.path}`;
    if (route.method !== 'GET' || route.path.includes('/tokens')) {
      if (isKnown(route) || r.status !== 400) {
        t.is(r.status, 403, what);
        t.is(r.body.error.code, 'insufficient_permission', what);
      } else {
        t.log(`${what}: refused by input validation (400) before the permission check`);
      }
    } else if (route.path.includes('/webhook')) {
      // the mailbox has no webhook (404 webhook_not_found): what matters here is that reading is allowed
      t.false([401, 403].includes(r.status), what);
    } else if (unknownParams(route.path, paramsFor(route.path, objects)).length === 0) {
      t.is(r.status, 200, what);
    } else {
      t.false([401, 403].includes(r.status), what);
    }
  }
  const after = await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}`, { token: b.apiKey });
  t.true(after.body.is_active);
  t.is(after.body.message_count, 1);
  t.deepEqual(after.body, before, 'the mailbox is unchanged (expiry included)');
  const tokens = await call(sys, 'GET', `/api/v1/mailboxes/${bBox.address}/tokens`, { token: b.apiKey });
  t.false(tokens.body.find((x: any) => x.jti === other.jti).is_revoked);
  t.is(await tokenCount(), tokensBefore, 'no token was minted');
});

test.serial('mass assignment: server-owned fields in a body or query are a 400 and change nothing', async (t) => {
  const { sys, a, aBox, b } = t.context;
  const count = async (table: string) => Number((await sys.deps.db(table).count<{ n: string }[]>({ n: '*' }))[0]!.n);
  const before = {
    mailboxes: await count('mailboxes'),
    tokens: await count('agent_tokens'),
    keys: await count('api_keys'),
  };
  const attempts: Array<[string, string, unknown]> = [
    ['POST', '/api/v1/mailboxes', { owner_user_id: b.userId }],
    ['POST', '/api/v1/mailboxes', { plan: 'pro' }],
    ['POST', '/api/v1/mailboxes', { expires_at: '2099-01-01T00:00:00Z', is_active: true }],
    ['POST', '/api/v1/mailboxes?plan=pro', undefined],
    ['POST', '/api/v1/mailboxes?owner_user_id=x', undefined],
    ['POST', `/api/v1/mailboxes/${aBox.address}/tokens`, { permissions: ['read'], expires_at: '2099-01-01T00:00:00Z' }],
    ['POST', `/api/v1/mailboxes/${aBox.address}/tokens`, { permissions: ['read'], mailbox_id: randomUUID() }],
    [
      'POST',
      `/api/v1/mailboxes/${aBox.address}/tokens`,
      { permissions: ['read'], user_id: b.userId, is_revoked: false },
    ],
    ['POST', `/api/v1/mailboxes/${aBox.address}/tokens`, { permissions: ['read', 'admin'] }],
    ['POST', `/api/v1/mailboxes/${aBox.address}/tokens`, { permissions: ['read'], jti: 'chosen' }],
    ['POST', '/api/v1/keys', { user_id: b.userId }],
    ['POST', '/api/v1/keys', { name: 'x', prefix: 'mw_00000000' }],
    ['POST', '/api/v1/keys', { name: 'x', revoked_at: null }],
  ];
  for (const [method, path, body] of attempts) {
    const r = await call(sys, method, path, { token: a.apiKey, body });
    t.is(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.truthy(r.body.error.code);
  }
  t.deepEqual(
    { mailboxes: await count('mailboxes'), tokens: await count('agent_tokens'), keys: await count('api_keys') },
    before,
  );
});
