import anyTest, { type TestFn } from 'ava';
import { createServer, type AddressInfo } from 'node:net';
import { open } from '../../src/core/secret-box.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import type { System } from '../helpers/system.js';
import { call, type Tenant } from '../helpers/tenants.js';
import { startSmtpAuthServer, type SmtpAuthServer } from '../helpers/smtp-auth-server.js';

const PASSWORD = 'alice-Secret-pw-7f3c';
const SMTP_PASSWORD = 'smtp-Secret-pw-5b20';
const WRONG = 'wrong-Smtp-pw-0c9e';

const test = anyTest as TestFn<ConnectedFixture & { smtp: SmtpAuthServer }>;

test.before(async (t) => {
  const smtp = await startSmtpAuthServer('alice', SMTP_PASSWORD);
  try {
    const fx = await connectedFixture({
      users: [{ user: 'alice', password: PASSWORD }],
      env: { IMAP_TIMEOUT_MS: '3000' },
    });
    t.context = { ...fx, smtp };
  } catch (err) {
    await smtp.stop();
    throw err;
  }
});
test.after.always(async (t) => {
  await t.context.stop?.();
  await t.context.smtp?.stop();
});

const imap = (dv: Dovecot) => ({
  host: '127.0.0.1',
  port: dv.port,
  tls: 'none',
  username: 'alice',
  password: PASSWORD,
});
const smtpLogin = (port: number, over: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port,
  tls: 'none',
  username: 'alice',
  password: SMTP_PASSWORD,
  ...over,
});
const connect = (t: { context: { sys: System; owner: Tenant } }, body: unknown) =>
  call(t.context.sys, 'POST', '/api/v1/mailboxes', { token: t.context.owner.apiKey, body });

test.serial('smtp on create: verified by AUTH, stored sealed for its column, shown without password', async (t) => {
  const { dv, sys, owner, smtp } = t.context;
  const before = smtp.auths.length;
  const r = await connect(t, {
    kind: 'connected',
    address: 'out@example.org',
    imap: imap(dv),
    smtp: smtpLogin(smtp.port),
  });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.deepEqual(r.body.smtp, { host: '127.0.0.1', port: smtp.port, tls: 'none', username: 'alice' });
  t.false(r.text.includes(SMTP_PASSWORD));
  t.deepEqual(smtp.auths.slice(before), [{ username: 'alice', ok: true }], 'one AUTH, accepted');

  const got = await call(sys, 'GET', '/api/v1/mailboxes/out@example.org', { token: owner.apiKey });
  t.deepEqual(got.body.smtp, r.body.smtp);
  t.false(got.text.includes(SMTP_PASSWORD));

  const row = await sys.deps.db('mailboxes').where({ address: 'out@example.org' }).first();
  const sealed: Buffer = row.smtp_password_encrypted;
  t.false(sealed.includes(Buffer.from(SMTP_PASSWORD)));
  const ring = sys.config.connected.keyRing!;
  t.is(open(ring, sealed, `mailboxes.smtp_password_encrypted:${row.id}`), SMTP_PASSWORD);
  t.throws(() => open(ring, sealed, `mailboxes.imap_password_encrypted:${row.id}`));
  t.is(open(ring, row.imap_password_encrypted, `mailboxes.imap_password_encrypted:${row.id}`), PASSWORD);
});

test.serial('smtp refused credentials: 422 smtp_login_failed, the password masked, nothing stored', async (t) => {
  const { dv, sys, smtp } = t.context;
  const r = await connect(t, {
    kind: 'connected',
    address: 'wrong-smtp@example.org',
    imap: imap(dv),
    smtp: smtpLogin(smtp.port, { password: WRONG }),
  });
  t.is(r.status, 422, JSON.stringify(r.body));
  t.is(r.body.error.code, 'smtp_login_failed');
  t.false(r.text.includes(WRONG), 'the server echoed the password: masked');
  t.regex(r.body.error.message, /\*\*\*/);
  t.true(r.body.error.message.length < 300);
  t.is(await sys.deps.db('mailboxes').where({ address: 'wrong-smtp@example.org' }).first(), undefined);
});

test.serial('smtp unreachable (a refused port): 422 smtp_unreachable, nothing stored', async (t) => {
  const { dv, sys } = t.context;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const r = await connect(t, {
    kind: 'connected',
    address: 'gone-smtp@example.org',
    imap: imap(dv),
    smtp: smtpLogin(port),
  });
  t.is(r.status, 422, JSON.stringify(r.body));
  t.is(r.body.error.code, 'smtp_unreachable');
  t.regex(r.body.error.message, /ECONNREFUSED/);
  t.is(await sys.deps.db('mailboxes').where({ address: 'gone-smtp@example.org' }).first(), undefined);
});

test.serial('smtp tls "none" to an unlisted host: 422 smtp_tls_required before any connection', async (t) => {
  const { dv, smtp } = t.context;
  const before = smtp.auths.length;
  const r = await connect(t, {
    kind: 'connected',
    address: 'plain-smtp@example.org',
    imap: imap(dv),
    smtp: smtpLogin(smtp.port, { host: 'localhost' }),
  });
  t.is(r.status, 422, JSON.stringify(r.body));
  t.is(r.body.error.code, 'smtp_tls_required');
  t.is(smtp.auths.length, before);
});

test.serial('smtp: bad input is a 400 before any connection; null is no smtp account', async (t) => {
  const { dv, smtp } = t.context;
  const before = smtp.auths.length;
  const bad = await connect(t, {
    kind: 'connected',
    address: 'bad-smtp@example.org',
    imap: imap(dv),
    smtp: smtpLogin(smtp.port, { username: 'a\r\nRSET' }),
  });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_body');
  t.is(smtp.auths.length, before);
  const none = await connect(t, { kind: 'connected', address: 'no-smtp@example.org', imap: imap(dv), smtp: null });
  t.is(none.status, 201);
  t.is(none.body.smtp, null);
});
