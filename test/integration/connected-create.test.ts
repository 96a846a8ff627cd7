import anyTest, { type TestFn } from 'ava';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/core/log.js';
import { open } from '../../src/core/secret-box.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import { TEST_DOMAIN, type System } from '../helpers/system.js';
import { call, createTenant } from '../helpers/tenants.js';
import { jsonBody, openApiValidator, validatedCall } from '../helpers/openapi-validator.js';
import { openApiDocument } from '../../src/api/openapi.js';

const PASSWORD = 'alice-Secret-pw-7f3c';
const BOB_PASSWORD = 'bob-Secret-pw-91aa';
const WRONG = 'wrong-Password-e2d1';

const test = anyTest as TestFn<ConnectedFixture & { lines: string[] }>;

test.before(async (t) => {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ log: { level: 'trace', pretty: false } }, 'test', sink);
  const fx = await connectedFixture({
    users: [
      { user: 'alice', password: PASSWORD },
      { user: 'bob', password: BOB_PASSWORD },
    ],
    env: { IMAP_TIMEOUT_MS: '3000' },
    overrides: { log },
  });
  t.context = { ...fx, lines };
});
test.after.always(async (t) => {
  await t.context.stop?.();
});
// every IMAP session the API opened ended with LOGOUT (not a dropped connection)
test.afterEach(async (t) => {
  const c = await t.context.dv.waitForLog((n) => n.logins === n.loggedOut, 5_000);
  t.is(c.logins, c.loggedOut);
});

const imap = (dv: Dovecot, over: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port: dv.port,
  tls: 'none',
  username: 'alice',
  password: PASSWORD,
  ...over,
});
const connect = (t: { context: { sys: System } }, token: string | undefined, body: unknown, query = '') =>
  call(t.context.sys, 'POST', `/api/v1/mailboxes${query}`, { token, body });

test.serial('an API key connects an IMAP account: LOGIN/LOGOUT first, 201 without password or token', async (t) => {
  const { dv, sys, owner } = t.context;
  const before = dv.logCounts();
  const r = await connect(t, owner.apiKey, { kind: 'connected', address: 'Ops@Example.org', imap: imap(dv) });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.deepEqual(Object.keys(r.body).sort(), [
    'address',
    'bounce_imap',
    'created_at',
    'expires_at',
    'imap',
    'is_active',
    'kind',
    'smtp',
  ]);
  t.like(r.body, {
    address: 'ops@example.org',
    kind: 'connected',
    expires_at: null,
    is_active: true,
    smtp: null,
    bounce_imap: null,
  });
  t.deepEqual(r.body.imap, { host: '127.0.0.1', port: dv.port, tls: 'none', username: 'alice' });
  t.false(r.text.includes(PASSWORD));
  t.is(r.headers.get('location'), '/api/v1/mailboxes/ops%40example.org');
  const after = await dv.waitForLog((c) => c.loggedOut > before.loggedOut);
  t.is(after.logins, before.logins + 1, 'one LOGIN');

  const got = await call(sys, 'GET', '/api/v1/mailboxes/ops@example.org', { token: owner.apiKey });
  t.is(got.status, 200);
  t.like(got.body, { kind: 'connected', is_active: true, expires_at: null, imap: r.body.imap, smtp: null });
  const list = await call(sys, 'GET', '/api/v1/mailboxes', { token: owner.apiKey });
  t.true(
    list.body.some((m: { address: string }) => m.address === 'ops@example.org'),
    'listed (never expires)',
  );

  // the database holds the password only sealed, for this row and column
  const row = await sys.deps.db('mailboxes').where({ address: 'ops@example.org' }).first();
  const sealed: Buffer = row.imap_password_encrypted;
  t.false(sealed.includes(Buffer.from(PASSWORD)));
  const ring = sys.config.connected.keyRing!;
  t.is(open(ring, sealed, `mailboxes.imap_password_encrypted:${row.id}`), PASSWORD);
  t.throws(() => open(ring, sealed, `mailboxes.smtp_password_encrypted:${row.id}`));
  const dump = await sys.deps.db.raw(`select m::text as t from mailboxes m`);
  t.false(JSON.stringify(dump.rows).includes(PASSWORD), 'no column holds it in clear');
});

test.serial('unique per owner (409 mailbox_exists, no connection); another tenant gets its own mailbox', async (t) => {
  const { dv, sys, owner } = t.context;
  const body = { kind: 'connected', address: 'shared@example.org', imap: imap(dv) };
  t.is((await connect(t, owner.apiKey, body)).status, 201);
  const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
  const again = await connect(t, owner.apiKey, { ...body, address: 'SHARED@example.org' });
  t.is(again.status, 409);
  t.is(again.body.error.code, 'mailbox_exists');
  t.is(dv.logCounts().logins, before.logins, 'no LOGIN for a refused duplicate');

  const other = await createTenant(sys, 'pro');
  const theirs = await connect(t, other.apiKey, {
    ...body,
    imap: imap(dv, { username: 'bob', password: BOB_PASSWORD }),
  });
  t.is(theirs.status, 201, 'nothing tells that someone else connected it');
  t.is(
    (await call(sys, 'GET', '/api/v1/mailboxes/shared@example.org', { token: owner.apiKey })).body.imap.username,
    'alice',
  );
  t.is(
    (await call(sys, 'GET', '/api/v1/mailboxes/shared@example.org', { token: other.apiKey })).body.imap.username,
    'bob',
  );

  // a third tenant sees neither: 404 exactly like a missing mailbox, on GET and DELETE
  const stranger = await createTenant(sys, 'pro');
  for (const method of ['GET', 'DELETE']) {
    const r = await call(sys, method, '/api/v1/mailboxes/shared@example.org', { token: stranger.apiKey });
    t.is(r.status, 404, method);
    t.is(r.body.error.code, 'mailbox_not_found');
  }
  // tokens: each owner lists its own mailbox's (none yet), a stranger gets the 404 of nothing
  const tokens = await call(sys, 'GET', '/api/v1/mailboxes/shared@example.org/tokens', { token: owner.apiKey });
  t.is(tokens.status, 200);
  t.deepEqual(tokens.body, []);
  const strangers = await call(sys, 'GET', '/api/v1/mailboxes/shared@example.org/tokens', { token: stranger.apiKey });
  t.is(strangers.status, 404);
});

test.serial('refused credentials: 422 imap_login_failed, nothing stored, the password never echoed', async (t) => {
  const { dv, sys, owner } = t.context;
  const r = await connect(t, owner.apiKey, {
    kind: 'connected',
    address: 'wrong@example.org',
    imap: imap(dv, { password: WRONG }),
  });
  t.is(r.status, 422);
  t.is(r.body.error.code, 'imap_login_failed');
  t.false(r.text.includes(WRONG));
  t.true(r.body.error.message.length < 300);
  t.is(await sys.deps.db('mailboxes').where({ address: 'wrong@example.org' }).first(), undefined);
});

test.serial('an unreachable server: 422 imap_unreachable', async (t) => {
  const { dv, owner } = t.context;
  // a port that was just free: nothing listens there
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const r = await connect(t, owner.apiKey, {
    kind: 'connected',
    address: 'gone@example.org',
    imap: imap(dv, { port }),
  });
  t.is(r.status, 422);
  t.is(r.body.error.code, 'imap_unreachable');
  t.regex(r.body.error.message, /ECONNREFUSED/);
});

test.serial(
  'the host guard: a loopback host not on CONNECTED_ALLOW_HOSTS, and tls "none" to an unlisted host',
  async (t) => {
    const { dv, owner } = t.context;
    const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
    const forbidden = await connect(t, owner.apiKey, {
      kind: 'connected',
      address: 'guard@example.org',
      imap: imap(dv, { host: '127.0.0.2', tls: 'implicit' }),
    });
    t.is(forbidden.status, 422);
    t.is(forbidden.body.error.code, 'imap_host_forbidden');
    t.regex(forbidden.body.error.message, /127\.0\.0\.2 is loopback/);
    const plain = await connect(t, owner.apiKey, {
      kind: 'connected',
      address: 'guard@example.org',
      imap: imap(dv, { host: 'localhost' }),
    });
    t.is(plain.status, 422);
    t.is(plain.body.error.code, 'imap_tls_required');
    t.is(dv.logCounts().logins, before.logins, 'no connection made');
  },
);

test.serial('bad input is a 400 before any connection', async (t) => {
  const { dv, owner } = t.context;
  const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
  const good = { kind: 'connected', address: 'bad@example.org', imap: imap(dv) };
  const rows: Array<[string, unknown, string]> = [
    ['CRLF in username', { ...good, imap: imap(dv, { username: 'alice\r\na2 LOGOUT' }) }, 'invalid_body'],
    ['LF in host', { ...good, imap: imap(dv, { host: '127.0.0.1\n' }) }, 'invalid_body'],
    ['CR in password', { ...good, imap: imap(dv, { password: `${PASSWORD}\r` }) }, 'invalid_body'],
    ['NUL in password', { ...good, imap: imap(dv, { password: `${PASSWORD}\u0000` }) }, 'invalid_body'],
    ['LF in address', { ...good, address: 'a\n@example.org' }, 'invalid_body'],
    ['port 0', { ...good, imap: imap(dv, { port: 0 }) }, 'invalid_body'],
    ['port 65536', { ...good, imap: imap(dv, { port: 65536 }) }, 'invalid_body'],
    ['port as text', { ...good, imap: imap(dv, { port: String(dv.port) }) }, 'invalid_body'],
    ['tls ssl', { ...good, imap: imap(dv, { tls: 'ssl' }) }, 'invalid_body'],
    ['unknown imap field', { ...good, imap: { ...imap(dv), folder: 'INBOX' } }, 'invalid_body'],
    ['unknown field', { ...good, plan: 'pro' }, 'invalid_body'],
    ['no imap', { kind: 'connected', address: 'bad@example.org' }, 'invalid_body'],
    ['not an address', { ...good, address: 'nobody' }, 'invalid_body'],
    ['empty password', { ...good, imap: imap(dv, { password: '' }) }, 'invalid_body'],
  ];
  for (const [name, body, code] of rows) {
    const r = await connect(t, owner.apiKey, body);
    t.is(r.status, 400, name);
    t.is(r.body.error.code, code, name);
    t.false(r.text.includes(PASSWORD), `${name}: the password is not echoed`);
  }
  const ttl = await connect(t, owner.apiKey, good, '?ttl_minutes=5');
  t.is(ttl.status, 400);
  t.is(ttl.body.error.code, 'ttl_not_applicable');
  const reserved = await connect(t, owner.apiKey, { ...good, address: `box@${TEST_DOMAIN}` });
  t.is(reserved.status, 422);
  t.is(reserved.body.error.code, 'address_reserved');
  t.is(dv.logCounts().logins, before.logins, 'no LOGIN for any of them');
});

test.serial('API key only: anonymous 401, a mailbox token 403 api_key_required', async (t) => {
  const { dv, sys } = t.context;
  const body = { kind: 'connected', address: 'auth@example.org', imap: imap(dv) };
  const anon = await connect(t, undefined, body);
  t.is(anon.status, 401);
  const hosted = await sys.createMailbox();
  const byToken = await connect(t, hosted.token, body);
  t.is(byToken.status, 403);
  t.is(byToken.body.error.code, 'api_key_required');
});

test.serial("the plan's max_connected_mailboxes: free allows 3, then 403 connected_limit_reached", async (t) => {
  const { dv, sys } = t.context;
  const free = await createTenant(sys, 'free');
  for (const n of [1, 2, 3])
    t.is(
      (await connect(t, free.apiKey, { kind: 'connected', address: `n${n}@example.org`, imap: imap(dv) })).status,
      201,
    );
  const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
  const r = await connect(t, free.apiKey, { kind: 'connected', address: 'n4@example.org', imap: imap(dv) });
  t.is(r.status, 403);
  t.is(r.body.error.code, 'connected_limit_reached');
  t.is(dv.logCounts().logins, before.logins);
  // deleting one frees a place
  t.is((await call(sys, 'DELETE', '/api/v1/mailboxes/n1@example.org', { token: free.apiKey })).status, 204);
  t.is((await connect(t, free.apiKey, { kind: 'connected', address: 'n4@example.org', imap: imap(dv) })).status, 201);
});

test.serial('DELETE forgets the credentials at once', async (t) => {
  const { dv, sys, owner } = t.context;
  t.is((await connect(t, owner.apiKey, { kind: 'connected', address: 'bye@example.org', imap: imap(dv) })).status, 201);
  t.is((await call(sys, 'DELETE', '/api/v1/mailboxes/bye@example.org', { token: owner.apiKey })).status, 204);
  const row = await sys.deps.db('mailboxes').where({ address: 'bye@example.org' }).first();
  t.is(row.is_active, false);
  for (const c of ['host', 'port', 'tls_mode', 'username', 'password_encrypted']) t.is(row[`imap_${c}`], null, c);
  const got = await call(sys, 'GET', '/api/v1/mailboxes/bye@example.org', { token: owner.apiKey });
  t.is(got.status, 410);
  t.is((await call(sys, 'DELETE', '/api/v1/mailboxes/bye@example.org', { token: owner.apiKey })).status, 204);
});

test.serial('no log line, even at trace level, holds a password', async (t) => {
  const { lines } = t.context;
  t.true(
    lines.some((l) => l.includes('"event":"mailbox.connected"')),
    'the run was logged',
  );
  for (const secret of [PASSWORD, BOB_PASSWORD, WRONG])
    t.false(
      lines.some((l) => l.includes(secret)),
      'a password in the log',
    );
});

test.serial('the answers match the OpenAPI document', async (t) => {
  const { dv, sys, owner } = t.context;
  const check = openApiValidator(openApiDocument('/'));
  const call = (template: string, path: string, init: RequestInit & { token?: string }) =>
    validatedCall(sys, check, template, path, { token: owner.apiKey, ...init });
  const body = { kind: 'connected', address: 'doc@example.org', imap: imap(dv) };
  const rows = [
    await call('/api/v1/mailboxes', '/api/v1/mailboxes', jsonBody('POST', body)),
    await call('/api/v1/mailboxes', '/api/v1/mailboxes', jsonBody('POST', body)),
    await call('/api/v1/mailboxes', '/api/v1/mailboxes', jsonBody('POST', { ...body, address: 'doc@mw.test' })),
    await call('/api/v1/mailboxes', '/api/v1/mailboxes', jsonBody('POST', { ...body, imap: { port: 1 } })),
    await call('/api/v1/mailboxes/{address}', '/api/v1/mailboxes/doc@example.org', {}),
    await call('/api/v1/mailboxes', '/api/v1/mailboxes', {}),
  ];
  t.deepEqual(
    rows.map((r) => r.status),
    [201, 409, 422, 400, 200, 200],
  );
  for (const r of rows) t.deepEqual(r.problems, []);
});
