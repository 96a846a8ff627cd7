import anyTest, { type TestFn } from 'ava';
import { openApiDocument } from '../../src/api/openapi.js';
import { open } from '../../src/core/secret-box.js';
import { jsonBody, openApiValidator, validatedCall } from '../helpers/openapi-validator.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { startSmtpAuthServer, type SmtpAuthServer } from '../helpers/smtp-auth-server.js';
import type { System } from '../helpers/system.js';
import { call, createTenant, type Tenant } from '../helpers/tenants.js';

const ALICE = 'alice-Secret-pw-7f3c';
const BOB = 'bob-Secret-pw-91aa';
const SMTP_PASSWORD = 'smtp-Secret-pw-5b20';
const WRONG = 'wrong-Password-e2d1';
const ADDRESS = 'patch@example.org';

const test = anyTest as TestFn<ConnectedFixture & { smtp: SmtpAuthServer }>;

test.before(async (t) => {
  const smtp = await startSmtpAuthServer('alice', SMTP_PASSWORD);
  try {
    const fx = await connectedFixture({
      users: [
        { user: 'alice', password: ALICE },
        { user: 'bob', password: BOB },
      ],
      env: { IMAP_TIMEOUT_MS: '3000' },
    });
    t.context = { ...fx, smtp };
  } catch (err) {
    await smtp.stop();
    throw err;
  }
  await t.context.connect(ADDRESS, 'alice');
});
test.after.always(async (t) => {
  await t.context.stop?.();
  await t.context.smtp?.stop();
});

type Ctx = { context: { sys: System; owner: Tenant } };
const patch = (t: Ctx, body: unknown, query = '', token = t.context.owner.apiKey) =>
  call(t.context.sys, 'PATCH', `/api/v1/mailboxes/${ADDRESS}${query}`, { token, body });
const row = (t: Ctx) => t.context.sys.deps.db('mailboxes').where({ address: ADDRESS }).first();
const opened = (t: Ctx, sealed: Buffer, column: string, id: string) =>
  open(t.context.sys.config.connected.keyRing!, sealed, `mailboxes.${column}:${id}`);

test.serial('a wrong new password: 422 imap_login_failed, the old settings and password kept', async (t) => {
  const before = await row(t);
  const r = await patch(t, { imap: { password: WRONG } });
  t.is(r.status, 422, r.text);
  t.is(r.body.error.code, 'imap_login_failed');
  t.false(r.text.includes(WRONG));
  const after = await row(t);
  t.deepEqual(after.imap_password_encrypted, before.imap_password_encrypted);
  t.is(opened(t, after.imap_password_encrypted, 'imap_password_encrypted', after.id), ALICE);
});

test.serial('changing the username without the password: 422 password_required, no LOGIN', async (t) => {
  const { dv } = t.context;
  const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
  for (const change of [{ username: 'bob' }, { port: 1 }, { host: 'localhost' }, { tls: 'starttls' }]) {
    const r = await patch(t, { imap: change });
    t.is(r.status, 422, JSON.stringify(change));
    t.is(r.body.error.code, 'password_required');
  }
  t.is(dv.logCounts().logins, before.logins, 'the stored password went nowhere');
  t.is((await row(t)).imap_username, 'alice');
});

test.serial('the same settings again re-verify with the stored password: 200', async (t) => {
  const { dv } = t.context;
  const before = await dv.waitForLog((c) => c.logins === c.loggedOut);
  const r = await patch(t, { imap: { username: 'alice', port: dv.port } });
  t.is(r.status, 200, r.text);
  t.like(r.body.imap, { username: 'alice', port: dv.port });
  const after = await dv.waitForLog((c) => c.logins > before.logins && c.logins === c.loggedOut);
  t.is(after.logins, before.logins + 1, 'one LOGIN');
});

test.serial('a new username with its password: verified, saved, sealed for the row', async (t) => {
  const r = await patch(t, { imap: { username: 'bob', password: BOB } });
  t.is(r.status, 200, r.text);
  t.is(r.body.imap.username, 'bob');
  t.false(r.text.includes(BOB));
  const after = await row(t);
  t.is(opened(t, after.imap_password_encrypted, 'imap_password_encrypted', after.id), BOB);
  const got = await call(t.context.sys, 'GET', `/api/v1/mailboxes/${ADDRESS}`, { token: t.context.owner.apiKey });
  t.is(got.body.imap.username, 'bob');
});

test.serial('smtp: added (all fields needed), a wrong password refused, then removed by null', async (t) => {
  const { smtp } = t.context;
  const login = { host: '127.0.0.1', port: smtp.port, tls: 'none', username: 'alice' };
  const noPassword = await patch(t, { smtp: login });
  t.is(noPassword.status, 422);
  t.is(noPassword.body.error.code, 'password_required');
  const partial = await patch(t, { smtp: { password: SMTP_PASSWORD } });
  t.is(partial.status, 400);
  t.is(partial.body.error.code, 'invalid_body');

  const added = await patch(t, { smtp: { ...login, password: SMTP_PASSWORD } });
  t.is(added.status, 200, added.text);
  t.deepEqual(added.body.smtp, login);
  const stored = await row(t);
  t.is(opened(t, stored.smtp_password_encrypted, 'smtp_password_encrypted', stored.id), SMTP_PASSWORD);

  const wrong = await patch(t, { smtp: { password: WRONG } });
  t.is(wrong.status, 422);
  t.is(wrong.body.error.code, 'smtp_login_failed');
  t.false(wrong.text.includes(WRONG));
  t.deepEqual((await row(t)).smtp_password_encrypted, stored.smtp_password_encrypted, 'old kept');

  const removed = await patch(t, { smtp: null });
  t.is(removed.status, 200, removed.text);
  t.is(removed.body.smtp, null);
  const after = await row(t);
  t.is(after.smtp_host, null);
  t.is(after.smtp_password_encrypted, null);
  t.not(after.imap_password_encrypted, null, 'imap untouched');
});

test.serial('ttl_minutes on a connected mailbox: 400 ttl_not_applicable (query or body)', async (t) => {
  const q = await patch(t, { imap: {} }, '?ttl_minutes=5');
  t.is(q.status, 400);
  t.is(q.body.error.code, 'ttl_not_applicable');
  const b = await patch(t, { ttl_minutes: 5 });
  t.is(b.status, 400);
  t.is(b.body.error.code, 'ttl_not_applicable');
});

test.serial('another tenant or no credential: 404/401; a hosted mailbox has no accounts', async (t) => {
  const { sys } = t.context;
  const stranger = await createTenant(sys, 'pro');
  const r = await patch(t, { imap: { password: ALICE } }, '', stranger.apiKey);
  t.is(r.status, 404);
  t.is(r.body.error.code, 'mailbox_not_found');
  const anonymous = await call(sys, 'PATCH', `/api/v1/mailboxes/${ADDRESS}`, { body: { imap: {} } });
  t.true([401, 404].includes(anonymous.status), anonymous.text);
  const hosted = await call(sys, 'POST', '/api/v1/mailboxes', { token: t.context.owner.apiKey });
  t.is(hosted.status, 201);
  const h = await call(sys, 'PATCH', `/api/v1/mailboxes/${hosted.body.address}`, {
    token: t.context.owner.apiKey,
    body: { imap: { password: ALICE } },
  });
  t.is(h.status, 400);
  t.is(h.body.error.code, 'not_connected');
  const bad = await patch(t, { imap: { username: 'a\r\nX' } });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_body');
});

test.serial('the PATCH answers match the OpenAPI document', async (t) => {
  const { sys, owner, dv } = t.context;
  const check = openApiValidator(openApiDocument('/'));
  const send = (body: unknown, query = '') =>
    validatedCall(sys, check, '/api/v1/mailboxes/{address}', `/api/v1/mailboxes/${ADDRESS}${query}`, {
      token: owner.apiKey,
      ...jsonBody('PATCH', body),
    });
  const rows = [
    await send({ imap: { username: 'alice', password: ALICE, port: dv.port } }),
    await send({ imap: { username: 'bob' } }),
    await send({ imap: { password: WRONG } }),
    await send({ imap: {} }, '?ttl_minutes=5'),
  ];
  t.deepEqual(
    rows.map((r) => r.status),
    [200, 422, 422, 400],
  );
  for (const r of rows) t.deepEqual(r.problems, []);
});
