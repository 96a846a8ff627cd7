import anyTest, { type TestFn } from 'ava';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/core/log.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import type { System } from '../helpers/system.js';
import { apiRoutes, call, fill, withoutRequestId, type RouteSpec, type Tenant } from '../helpers/tenants.js';

/**
 * Mailbox tokens of connected mailboxes, and tenant isolation on every route that names a mailbox (generated from
 * the routers the app mounts): tenant A's API key and A's connected mailbox token get, on B's connected mailbox,
 * exactly the 404 of a mailbox that does not exist, and B's IMAP account sees no LOGIN. At `trace` level.
 */
const ALICE_PW = 'alice-Access-pw-40c9';
const BOB_PW = 'bob-Access-pw-a7d2';
const A_BOX = 'a-ops@example.org';
const B_BOX = 'b-ops@example.org';

type Ctx = ConnectedFixture & {
  a: Tenant;
  b: Tenant;
  aToken: string;
  bMessageId: string;
  bJti: string;
  lines: string[];
};
const test = anyTest as TestFn<Ctx>;

const mint = async (sys: System, address: string, credential: string, permissions: string[]) => {
  const r = await call(sys, 'POST', `/api/v1/mailboxes/${address}/tokens`, {
    token: credential,
    body: { permissions },
  });
  if (r.status !== 201) throw new Error(`mint token: ${r.status} ${r.text}`);
  return r.body as { token: string; jti: string };
};
const ATTACHED = [
  'From: carl@example.net',
  'Subject: private to bob',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="m1"',
  '',
  '--m1',
  'Content-Type: text/plain',
  '',
  'private body',
  '--m1',
  'Content-Type: application/octet-stream',
  'Content-Disposition: attachment; filename="a.bin"',
  '',
  'attached',
  '--m1--',
  '',
].join('\r\n');

test.before(async (t) => {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ log: { level: 'trace', pretty: false } }, 'test', sink);
  const fx = await connectedFixture({
    users: [
      { user: 'alice', password: ALICE_PW },
      { user: 'bob', password: BOB_PW },
    ],
    seed: async (dv) => {
      await dv.append('alice', 'INBOX', 'Subject: for alice\r\n\r\nalice body\r\n');
      await dv.append('bob', 'INBOX', ATTACHED);
      await dv.append('bob', 'INBOX', 'Subject: second\r\n\r\nsecond body\r\n');
    },
    env: { IMAP_TIMEOUT_MS: '3000', RATE_LIMIT_ENABLED: 'false' },
    overrides: { log },
    tenants: 2,
  });
  const [a, b] = fx.tenants as [Tenant, Tenant];
  t.context = { ...fx, a, b, aToken: '', bMessageId: '', bJti: '', lines };
  const { sys } = fx;
  await fx.connect(A_BOX, 'alice', { owner: a });
  await fx.connect(B_BOX, 'bob', { owner: b });
  const list = await call(sys, 'GET', `/api/v1/mailboxes/${B_BOX}/messages`, { token: b.apiKey });
  t.context.bMessageId = (list.body as Array<{ id: string; subject: string }>).find(
    (m) => m.subject === 'private to bob',
  )!.id;
  t.context.aToken = (await mint(sys, A_BOX, a.apiKey, ['read', 'send', 'manage'])).token;
  t.context.bJti = (await mint(sys, B_BOX, b.apiKey, ['read'])).jti;
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

const allLoggedOut = async (dv: Dovecot) => {
  const c = await dv.waitForLog((n) => n.logins === n.loggedOut, 5_000);
  return c.logins === c.loggedOut;
};

test.serial('a read token of a connected mailbox reads every route; manage routes are 403 for it', async (t) => {
  const { sys, b, bMessageId } = t.context;
  const base = `/api/v1/mailboxes/${B_BOX}`;
  const { token } = await mint(sys, B_BOX, b.apiKey, ['read']);
  for (const path of [
    base,
    `${base}/folders`,
    `${base}/messages`,
    `${base}/messages/${bMessageId}?peek=true`,
    `${base}/messages/${bMessageId}/raw`,
    `${base}/messages/${bMessageId}/attachments/0`,
  ]) {
    const r = await call(sys, 'GET', path, { token });
    t.is(r.status, 200, `${path}: ${r.text}`);
  }
  const one = await call(sys, 'GET', `${base}/messages/${bMessageId}?peek=true`, { token });
  t.is(one.body.text.trim(), 'private body');
  const before = t.context.dv.logCounts().logins;
  for (const [method, path, body] of [
    ['DELETE', `${base}/messages/${bMessageId}`, undefined],
    ['PATCH', base, { imap: { password: BOB_PW } }],
    ['DELETE', base, undefined],
    ['POST', `${base}/tokens`, { permissions: ['read'] }],
    ['GET', `${base}/tokens`, undefined],
  ] as const) {
    const r = await call(sys, method, path, { token, body });
    t.is(r.status, 403, `${method} ${path}: ${r.text}`);
    t.is(r.body.error.code, 'insufficient_permission', `${method} ${path}`);
  }
  t.is(t.context.dv.logCounts().logins, before, 'refused before any connection');
  t.true(await allLoggedOut(t.context.dv));
});

test.serial(
  'a manage token of a connected mailbox: mints narrower tokens, lists them, deletes a message; revoked it is 401',
  async (t) => {
    const { sys, a, dv } = t.context;
    await dv.append('alice', 'INBOX', 'Subject: to delete\r\n\r\nbye\r\n');
    const base = `/api/v1/mailboxes/${A_BOX}`;
    const { token, jti } = await mint(sys, A_BOX, a.apiKey, ['read', 'manage']);
    // a token mints a narrower one for the same mailbox, never a wider one
    const child = await call(sys, 'POST', `${base}/tokens`, { token, body: { permissions: ['read'] } });
    t.is(child.status, 201, child.text);
    t.is(
      (await call(sys, 'POST', `${base}/tokens`, { token: child.body.token, body: { permissions: ['manage'] } }))
        .status,
      403,
    );
    const tokens = await call(sys, 'GET', `${base}/tokens`, { token });
    t.true(tokens.body.some((x: { jti: string }) => x.jti === jti));
    t.is(tokens.body.find((x: { jti: string }) => x.jti === jti).expires_at !== null, true);
    const list = await call(sys, 'GET', `${base}/messages`, { token: child.body.token });
    const doomed = list.body.find((m: { subject: string }) => m.subject === 'to delete');
    t.is((await call(sys, 'DELETE', `${base}/messages/${doomed.id}`, { token })).status, 204);
    const after = await call(sys, 'GET', `${base}/messages`, { token });
    t.false(after.body.some((m: { subject: string }) => m.subject === 'to delete'));
    // revoked: 401 on the connected routes too
    t.is((await call(sys, 'DELETE', `${base}/tokens/${child.body.jti}`, { token })).status, 204);
    const revoked = await call(sys, 'GET', `${base}/messages`, { token: child.body.token });
    t.is(revoked.status, 401);
    t.true(await allLoggedOut(dv));
  },
);

/** Every route that names a mailbox, except creating one (a collection route). */
const mailboxRoutes = (routes: RouteSpec[]) => routes.filter((r) => r.path.includes(':address'));
const bodyFor = (r: RouteSpec) =>
  r.method === 'POST' && r.path.endsWith('/tokens')
    ? { permissions: ['read'] }
    : r.method === 'PATCH'
      ? { imap: { password: 'x-attempt' } }
      : undefined;

test.serial(
  "tenant A's API key and A's connected mailbox token get, on B's connected mailbox, the 404 of nothing, on every route",
  async (t) => {
    const { sys, dv, a, b, aToken, bMessageId, bJti } = t.context;
    const routes = mailboxRoutes(apiRoutes(sys));
    for (const expected of [
      'GET /api/v1/mailboxes/:address',
      'PATCH /api/v1/mailboxes/:address',
      'DELETE /api/v1/mailboxes/:address',
      'GET /api/v1/mailboxes/:address/folders',
      'GET /api/v1/mailboxes/:address/messages',
      'GET /api/v1/mailboxes/:address/messages/:id',
      'DELETE /api/v1/mailboxes/:address/messages/:id',
      'GET /api/v1/mailboxes/:address/messages/:id/raw',
      'GET /api/v1/mailboxes/:address/messages/:id/attachments/:n',
      'POST /api/v1/mailboxes/:address/tokens',
      'GET /api/v1/mailboxes/:address/tokens',
      'DELETE /api/v1/mailboxes/:address/tokens/:jti',
    ])
      t.true(
        routes.some((r) => `${r.method} ${r.path}` === expected),
        `${expected} is mounted`,
      );
    const bBefore = (await call(sys, 'GET', `/api/v1/mailboxes/${B_BOX}`, { token: b.apiKey })).body;
    const before = await dv.waitForLog((n) => n.logins === n.loggedOut);
    const theirs = { address: B_BOX, id: bMessageId, n: '0', jti: bJti };
    const nothing = { address: 'nobody@example.org', id: bMessageId, n: '0', jti: 'nosuchjti' };
    for (const route of routes) {
      for (const [label, credential] of [
        ['API key', a.apiKey],
        ['connected mailbox token', aToken],
      ] as const) {
        const what = `${route.method} ${route.path} with A's ${label}`;
        const r = await call(sys, route.method, fill(route.path, theirs), { token: credential, body: bodyFor(route) });
        const none = await call(sys, route.method, fill(route.path, nothing), {
          token: credential,
          body: bodyFor(route),
        });
        t.true([400, 404].includes(r.status), `${what}: ${r.status} ${r.text}`);
        t.deepEqual(withoutRequestId(r.body), withoutRequestId(none.body), `${what}: the answer to nothing`);
        t.false(r.text.includes('private body') || r.text.includes(B_BOX), `${what}: no data of B`);
      }
    }
    // not one LOGIN to B's (or anyone's) account: every refusal came before a connection
    t.is(dv.logCounts().logins, before.logins, 'no IMAP session for another tenant');
    // B's mailbox, mail and token are untouched
    t.deepEqual((await call(sys, 'GET', `/api/v1/mailboxes/${B_BOX}`, { token: b.apiKey })).body, bBefore);
    const still = await call(sys, 'GET', `/api/v1/mailboxes/${B_BOX}/messages/${bMessageId}?peek=true`, {
      token: b.apiKey,
    });
    t.is(still.status, 200);
    const tokens = await call(sys, 'GET', `/api/v1/mailboxes/${B_BOX}/tokens`, { token: b.apiKey });
    t.false(tokens.body.find((x: { jti: string }) => x.jti === bJti).is_revoked);
  },
);

test.serial("a token of A's connected mailbox never reaches B's mailbox at A's address", async (t) => {
  // B connects an account at the address A uses (allowed: unique per owner): A's token still reads A's mail
  const { sys, dv, b, aToken } = t.context;
  await t.context.connect(A_BOX, 'bob', { owner: b });
  const mine = await call(sys, 'GET', `/api/v1/mailboxes/${A_BOX}/messages`, { token: aToken });
  t.is(mine.status, 200);
  t.true(mine.body.some((m: { subject: string }) => m.subject === 'for alice'));
  t.false(mine.text.includes('private to bob'));
  const theirs = await call(sys, 'GET', `/api/v1/mailboxes/${A_BOX}/messages`, { token: b.apiKey });
  t.true(theirs.body.some((m: { subject: string }) => m.subject === 'private to bob'));
  t.false(theirs.text.includes('for alice'));
  t.true(await allLoggedOut(dv));
});

test.serial('no log line at trace level holds a password, an API key or a token', (t) => {
  const { lines, a, b, aToken } = t.context;
  t.true(lines.length > 20, 'the run was logged');
  t.true(lines.some((l) => l.includes('"level":10')) || lines.some((l) => l.includes('"level":20')));
  for (const secret of [ALICE_PW, BOB_PW, a.apiKey, b.apiKey, aToken])
    t.false(
      lines.some((l) => l.includes(secret)),
      'a secret in the log',
    );
});
