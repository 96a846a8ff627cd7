import anyTest, { type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { seal } from '../../src/core/secret-box.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import type { System } from '../helpers/system.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { call, createTenant, type Tenant } from '../helpers/tenants.js';
import { openApiValidator, validatedCall } from '../helpers/openapi-validator.js';
import { openApiDocument } from '../../src/api/openapi.js';

const PASSWORD = 'alice-Reads-pw-5d2e';
const BOX = 'ops@example.org';
const base = `/api/v1/mailboxes/${BOX}`;

const test = anyTest as TestFn<ConnectedFixture<TcpProxy> & { uids: number[] }>;

const PLAIN = [
  'From: Ann <ann@example.net>',
  'To: ops@example.org',
  'Subject: plain one',
  'Date: Mon, 1 Dec 2026 10:00:00 +0000',
  '',
  'hello plain',
  '',
].join('\r\n');
const ALT = [
  'From: bob@example.net',
  'To: ops@example.org',
  'Subject: =?UTF-8?B?w6l0w6kgYWx0?=',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 text',
  'Your verification code is 482913',
  '--b1',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>caf\u00e9 html <a href="https://example.net/verify?t=abc">verify</a></p>',
  '--b1--',
  '',
].join('\r\n');
const ATTACHED = [
  'From: carl@example.net',
  'Subject: with a file',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="m1"',
  '',
  '--m1',
  'Content-Type: text/plain',
  '',
  'see attached',
  '--m1',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Disposition: attachment; filename="data.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.alloc(3000, 7).toString('base64'),
  '--m1--',
  '',
].join('\r\n');

test.before(async (t) => {
  const uids: number[] = [];
  const fx = await connectedFixture({
    users: [{ user: 'alice', password: PASSWORD }],
    seed: async (dv) => {
      for (const raw of [PLAIN, ALT, ATTACHED]) uids.push((await dv.append('alice', 'INBOX', raw)).uid);
      dv.seedMaildir('alice', 'Archive', ['Subject: archived\r\n\r\nold\r\n']);
    },
    proxy: (port) => startTcpProxy(port),
    env: { IMAP_TIMEOUT_MS: '1500' },
  });
  t.context = { ...fx, uids };
  await fx.connect(BOX, 'alice');
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

const get = (t: { context: { sys: System; owner: Tenant } }, path: string, token?: string) =>
  call(t.context.sys, 'GET', path, { token: token ?? t.context.owner.apiKey });
/** Every session the API opened so far ended with LOGOUT. */
const allLoggedOut = async (t: { context: { dv: Dovecot } }) => {
  const c = await t.context.dv.waitForLog((n) => n.logins === n.loggedOut, 5_000);
  return c.logins === c.loggedOut;
};

test.serial('folders: INBOX and the others, in UTF-8', async (t) => {
  const r = await get(t, `${base}/folders`);
  t.is(r.status, 200, r.text);
  const inbox = r.body.find((f: { path: string }) => f.path === 'INBOX');
  t.deepEqual(Object.keys(inbox).sort(), ['delimiter', 'name', 'path', 'special_use']);
  t.true(r.body.some((f: { path: string }) => f.path === 'Archive'));
  t.true(await allLoggedOut(t));
});

test.serial('a folder named with quotes, {5} and non-ASCII: listed in UTF-8, read by name and by id', async (t) => {
  const { dv } = t.context;
  const name = 'Re\u00e7us "q" {5}';
  const client = new ImapFlow(dv.imapOptions('alice'));
  await client.connect();
  await client.mailboxCreate(name);
  await client.append(name, 'Subject: odd folder\r\n\r\nhere\r\n');
  await client.logout();
  const folders = await get(t, `${base}/folders`);
  t.true(
    folders.body.some((f: { path: string }) => f.path === name),
    JSON.stringify(folders.body),
  );
  const list = await get(t, `${base}/messages?folder=${encodeURIComponent(name)}`);
  t.is(list.status, 200, list.text);
  t.deepEqual(
    list.body.map((m: { subject: string }) => m.subject),
    ['odd folder'],
  );
  const one = await get(t, `${base}/messages/${list.body[0].id}?peek=true`);
  t.is(one.body.folder, name);
  t.is(one.body.text.trim(), 'here');
  t.true(await allLoggedOut(t));
});

test.serial('messages: highest UID first, exactly the summary fields, paged by cursor', async (t) => {
  const r = await get(t, `${base}/messages`);
  t.is(r.status, 200, r.text);
  t.is(r.body.length, 3);
  t.deepEqual(Object.keys(r.body[0]).sort(), [
    'from_address',
    'has_attachments',
    'id',
    'is_read',
    'received_at',
    'subject',
  ]);
  t.deepEqual(
    r.body.map((m: { subject: string }) => m.subject),
    ['with a file', '\u00e9t\u00e9 alt', 'plain one'],
  );
  t.deepEqual(
    r.body.map((m: { has_attachments: boolean }) => m.has_attachments),
    [true, false, false],
  );
  t.is(r.body[2].from_address, 'ann@example.net');
  t.false(r.body[2].is_read);
  t.regex(r.body[0].received_at, /\+00:00$/);

  const first = await get(t, `${base}/messages?limit=2`);
  t.is(first.body.length, 2);
  const cursor = first.headers.get('x-next-cursor');
  t.truthy(cursor);
  const second = await get(t, `${base}/messages?limit=2&cursor=${cursor}`);
  t.deepEqual(
    second.body.map((m: { id: string }) => m.id),
    [r.body[2].id],
  );
  t.is(second.headers.get('x-next-cursor'), null);
  const archive = await get(t, `${base}/messages?folder=Archive`);
  t.deepEqual(
    archive.body.map((m: { subject: string }) => m.subject),
    ['archived'],
  );
  t.true(await allLoggedOut(t));
});

test.serial('one message: text and html parts; ?peek=true leaves it unread, a plain GET sets \\Seen', async (t) => {
  const list = await get(t, `${base}/messages`);
  const alt = list.body[1];
  const peek = await get(t, `${base}/messages/${alt.id}?peek=true`);
  t.is(peek.status, 200, peek.text);
  t.is(peek.body.text.trim(), 'caf\u00e9 text\r\nYour verification code is 482913');
  t.is(peek.body.html.trim(), '<p>caf\u00e9 html <a href="https://example.net/verify?t=abc">verify</a></p>');
  t.is(peek.body.folder, 'INBOX');
  t.false(peek.body.is_read);
  t.false((await get(t, `${base}/messages`)).body[1].is_read, 'still unread');
  const read = await get(t, `${base}/messages/${alt.id}`);
  t.true(read.body.is_read);
  t.true((await get(t, `${base}/messages`)).body[1].is_read, 'now \\Seen on the server');
  const plain = await get(t, `${base}/messages/${list.body[2].id}?peek=true`);
  t.is(plain.body.text.trim(), 'hello plain');
  t.is(plain.body.html, null);
  t.like(plain.body.to[0], { address: 'ops@example.org' });
  t.true(await allLoggedOut(t));
});

test.serial('one message: its headers, codes and links as for a hosted message', async (t) => {
  const list = await get(t, `${base}/messages`);
  const alt = await get(t, `${base}/messages/${list.body[1].id}?peek=true`);
  t.is(alt.status, 200, alt.text);
  t.deepEqual(alt.body.headers.slice(0, 3), [
    { name: 'from', value: 'bob@example.net' },
    { name: 'to', value: 'ops@example.org' },
    { name: 'subject', value: '=?UTF-8?B?w6l0w6kgYWx0?=' },
  ]);
  t.true(alt.body.headers.some((h: { name: string }) => h.name === 'content-type'));
  t.deepEqual(
    alt.body.codes.map((c: { code: string }) => c.code),
    ['482913'],
  );
  t.deepEqual(alt.body.codes[0].found_in, ['text']);
  t.deepEqual(alt.body.links, [{ url: 'https://example.net/verify?t=abc', text: 'verify', found_in: ['html'] }]);
  const plain = await get(t, `${base}/messages/${list.body[2].id}?peek=true`);
  t.deepEqual(plain.body.codes, []);
  t.deepEqual(plain.body.links, []);
  t.like(plain.body.headers[0], { name: 'from', value: 'Ann <ann@example.net>' });
  t.true(await allLoggedOut(t));
});

test.serial('raw: byte-exact message/rfc822', async (t) => {
  const list = await get(t, `${base}/messages`);
  const res = await t.context.sys.api(`${base}/messages/${list.body[0].id}/raw`, { token: t.context.owner.apiKey });
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'message/rfc822');
  const bytes = Buffer.from(await res.arrayBuffer());
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  t.is(sha(bytes), sha(ATTACHED));
  t.true(await allLoggedOut(t));
});

test.serial('the answers match the OpenAPI document', async (t) => {
  const { sys, owner } = t.context;
  const check = openApiValidator(openApiDocument('/'));
  const at = (template: string, path: string) =>
    validatedCall(sys, check, `/api/v1/mailboxes/{address}${template}`, `${base}${path}`, { token: owner.apiKey });
  const list = await at('/messages', '/messages?limit=2');
  const id = (list.body as Array<{ id: string }>)[0]!.id;
  const rows = [
    list,
    await at('/folders', '/folders'),
    await at('/messages/{id}', `/messages/${id}?peek=true`),
    await at('/messages', '/messages?folder=Nope'),
    await at('/messages', '/messages?folder='),
    await at('/messages/{id}', '/messages/bad'),
  ];
  t.deepEqual(
    rows.map((r) => r.status),
    [200, 200, 200, 404, 400, 404],
  );
  for (const r of rows) t.deepEqual(r.problems, []);
  t.true(await allLoggedOut(t));
});

test.serial('bad folder, id or cursor: refused before any connection', async (t) => {
  const { dv } = t.context;
  const before = await dv.waitForLog((n) => n.logins === n.loggedOut);
  const rows: Array<[string, number, string]> = [
    [`${base}/messages?folder=${encodeURIComponent('IN\r\nBOX')}`, 400, 'invalid_folder'],
    [`${base}/messages?folder=${encodeURIComponent('a\u0000')}`, 400, 'invalid_folder'],
    [`${base}/messages?folder=${'x'.repeat(256)}`, 400, 'invalid_folder'],
    [`${base}/messages?folder=`, 400, 'invalid_folder'],
    [`${base}/messages?folder=a&folder=b`, 400, 'invalid_folder'],
    [`${base}/messages?cursor=abc`, 400, 'invalid_cursor'],
    [`${base}/messages/not-an-id`, 404, 'message_not_found'],
    [`${base}/messages/1.1.${Buffer.from('a\r\nb').toString('base64url')}`, 404, 'message_not_found'],
    [`${base}/messages/1.99999999999.SU5CT1g`, 404, 'message_not_found'],
    [`${base}/messages/not-an-id/raw`, 404, 'message_not_found'],
  ];
  for (const [path, status, code] of rows) {
    const r = await get(t, path);
    t.is(r.status, status, path);
    t.is(r.body.error.code, code, path);
  }
  t.is(dv.logCounts().logins, before.logins, 'no LOGIN');
});

test.serial(
  'an unknown folder is 404 folder_not_found; another UIDVALIDITY is 404, never another message',
  async (t) => {
    const { dv } = t.context;
    const missing = await get(t, `${base}/messages?folder=Nope`);
    t.is(missing.status, 404);
    t.is(missing.body.error.code, 'folder_not_found');

    const [old] = (await get(t, `${base}/messages?folder=Archive`)).body;
    t.is((await get(t, `${base}/messages/${old.id}?peek=true`)).status, 200);
    // delete and recreate the folder: a new UIDVALIDITY, and UID 1 is now another message
    const client = new ImapFlow(dv.imapOptions('alice'));
    await client.connect();
    const uidValidity = async () => {
      const status = await client.status('Archive', { uidValidity: true });
      if (!status) throw new Error('no STATUS for Archive');
      return status.uidValidity;
    };
    const was = await uidValidity();
    await client.mailboxDelete('Archive');
    await client.mailboxCreate('Archive');
    await client.append('Archive', 'Subject: impostor\r\n\r\nnew\r\n');
    const now = await uidValidity();
    await client.logout();
    t.not(now, was, 'the folder has a new UIDVALIDITY');
    const stale = await get(t, `${base}/messages/${old.id}?peek=true`);
    t.is(stale.status, 404);
    t.is(stale.body.error.code, 'message_not_found');
    t.is((await get(t, `${base}/messages/${old.id}/raw`)).status, 404);
    t.true(await allLoggedOut(t));
  },
);

test.serial('tenant isolation: another owner gets 404 on every route, without a connection', async (t) => {
  const { sys, dv } = t.context;
  const before = await dv.waitForLog((n) => n.logins === n.loggedOut);
  const other = await createTenant(sys, 'pro');
  const [m] = (await get(t, `${base}/messages`)).body;
  const afterOwn = await dv.waitForLog((n) => n.logins === n.loggedOut && n.logins > before.logins);
  for (const path of [
    `${base}/folders`,
    `${base}/messages`,
    `${base}/messages/${m.id}`,
    `${base}/messages/${m.id}/raw`,
  ]) {
    const r = await get(t, path, other.apiKey);
    t.is(r.status, 404, path);
    t.is(r.body.error.code, 'mailbox_not_found', path);
  }
  const hosted = await sys.createMailbox();
  t.is((await get(t, `${base}/messages`, hosted.token)).status, 404, 'a mailbox token of another mailbox');
  t.is((await get(t, `${base}/folders`)).status, 200);
  t.is(dv.logCounts().logins, afterOwn.logins + 1, 'only the owner connected');
});

test.serial(
  'stored credentials refused: 502 imap_auth_failed; server gone: 502 imap_unavailable; stalled: 504 imap_timeout',
  async (t) => {
    const { sys, proxy } = t.context;
    const row = await sys.deps.db('mailboxes').where({ address: BOX, kind: 'connected' }).first();
    const good: Buffer = row.imap_password_encrypted;
    const aad = `mailboxes.imap_password_encrypted:${row.id}`;
    await sys.deps
      .db('mailboxes')
      .where({ id: row.id })
      .update({ imap_password_encrypted: seal(sys.config.connected.keyRing!, 'nope-wrong', aad) });
    const refused = await get(t, `${base}/messages`);
    t.is(refused.status, 502);
    t.is(refused.body.error.code, 'imap_auth_failed');
    t.false(refused.text.includes('nope-wrong'));
    await sys.deps.db('mailboxes').where({ id: row.id }).update({ imap_password_encrypted: good });

    await proxy.cut();
    const gone = await get(t, `${base}/messages`);
    t.is(gone.status, 502);
    t.is(gone.body.error.code, 'imap_unavailable');
    await proxy.restore();

    proxy.hold();
    const started = Date.now();
    const stalled = await get(t, `${base}/messages`);
    t.is(stalled.status, 504);
    t.is(stalled.body.error.code, 'imap_timeout');
    t.true(Date.now() - started < 5_000);
    proxy.release();
    t.is((await get(t, `${base}/messages`)).status, 200, 'fine again');
    // the messages say what happened, and every session that logged in ended with LOGOUT
    t.regex(refused.body.error.message, /refused the stored credentials/);
    t.regex(gone.body.error.message, /unavailable/);
    t.regex(stalled.body.error.message, /did not answer/);
    const outcomes = Object.fromEntries(
      (await sys.deps.metrics.imapSessions.get()).values.map((v) => [v.labels.outcome, v.value]),
    );
    t.like(outcomes, { auth_failed: 1, unavailable: 1, timeout: 1 });
    t.true(await allLoggedOut(t));
  },
);
