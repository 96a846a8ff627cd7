import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;
const minutesBetween = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 60_000;

test('anonymous POST creates a mailbox: flat JSON, ISO 8601 with +00:00, effective TTL, token', async (t) => {
  const { sys } = t.context;
  const r = await sys.json('/api/v1/mailboxes?ttl_minutes=30', { method: 'POST' });
  t.is(r.status, 201);
  t.deepEqual(Object.keys(r.body).sort(), ['address', 'created_at', 'expires_at', 'token', 'ttl_minutes']);
  t.regex(r.body.address, new RegExp(`^[a-z2-7]{16}@${TEST_DOMAIN.replace('.', '\\.')}$`));
  t.regex(r.body.expires_at, ISO_UTC);
  t.regex(r.body.created_at, ISO_UTC);
  t.is(r.body.ttl_minutes, 30);
  t.is(minutesBetween(r.body.created_at, r.body.expires_at), 30);
  t.is(r.headers.get('location'), `/api/v1/mailboxes/${encodeURIComponent(r.body.address)}`);
  const again = await sys.json('/api/v1/mailboxes', { method: 'POST' });
  t.not(again.body.address, r.body.address, 'addresses are random');
});

test('TTL: default from the plan, silently capped at the plan maximum', async (t) => {
  const { sys } = t.context;
  const dflt = await sys.createMailbox();
  t.is(dflt.ttl_minutes, 15, 'anonymous default');
  const capped = await sys.createMailbox('?ttl_minutes=100000');
  t.is(capped.ttl_minutes, 60, 'anonymous max');
  t.is(minutesBetween(capped.created_at, capped.expires_at), 60);
  const { key } = await createUserWithKey(sys.deps.stores, 'pro');
  const pro = await sys.createMailbox('?ttl_minutes=600', key);
  t.is(pro.ttl_minutes, 600, 'pro allows longer');
});

test('ttl_minutes that is not a positive integer is a 400 with a clear JSON error', async (t) => {
  const { sys } = t.context;
  for (const bad of ['0', '-5', 'abc', '1.5', '', '1e3', '30&ttl_minutes=40']) {
    const r = await sys.json(`/api/v1/mailboxes?ttl_minutes=${bad}`, { method: 'POST' });
    t.is(r.status, 400, `ttl_minutes=${bad}`);
    t.is(r.body.error.code, 'invalid_ttl_minutes');
    t.regex(r.body.error.message, /ttl_minutes must be a positive integer/);
  }
  const unknown = await sys.json('/api/v1/mailboxes?owner=someone', { method: 'POST' });
  t.is(unknown.status, 400);
  t.is(unknown.body.error.code, 'unknown_parameter');
  const body = await sys.json('/api/v1/mailboxes', {
    method: 'POST',
    body: JSON.stringify({ plan: 'pro' }),
    headers: { 'content-type': 'application/json' },
  });
  t.is(body.status, 400);
  // JSON bodies are accepted now (docs/notes/api-first-hour.md), strictly: a server-owned field is refused by name
  t.is(body.body.error.code, 'invalid_body');
  t.regex(body.body.error.message, /"plan"/);
});

test('the mailbox token reads its mailbox; nobody else can tell it exists', async (t) => {
  const { sys } = t.context;
  const a = await sys.createMailbox();
  const b = await sys.createMailbox();
  const own = await sys.json(`/api/v1/mailboxes/${a.address}`, { token: a.token });
  t.is(own.status, 200);
  t.is(own.body.address, a.address);
  t.true(own.body.is_active);
  t.is(own.body.message_count, 0);

  const anonymous = await sys.json(`/api/v1/mailboxes/${a.address}`);
  const otherToken = await sys.json(`/api/v1/mailboxes/${a.address}`, { token: b.token });
  const missing = await sys.json(`/api/v1/mailboxes/nobody@${TEST_DOMAIN}`, { token: b.token });
  for (const r of [anonymous, otherToken, missing]) {
    t.is(r.status, 404);
    t.is(r.body.error.code, 'mailbox_not_found');
    t.is(r.body.error.message, 'mailbox not found');
  }
  const upper = await sys.json(`/api/v1/mailboxes/${a.address.toUpperCase()}`, { token: a.token });
  t.is(upper.status, 200, 'addresses are case-insensitive');

  const garbage = await sys.json(`/api/v1/mailboxes/${a.address}`, { token: 'not-a-token' });
  t.is(garbage.status, 401);
  t.is(garbage.body.error.code, 'unauthorized');
  const forged = await sys.json(`/api/v1/mailboxes/${a.address}`, { token: a.token.slice(0, -4) + 'AAAA' });
  t.is(forged.status, 401);
});

test('API key users list their own mailboxes only; anonymous listing is refused', async (t) => {
  const { sys } = t.context;
  const alice = await createUserWithKey(sys.deps.stores, 'free');
  const bob = await createUserWithKey(sys.deps.stores, 'free');
  const a1 = await sys.createMailbox('?ttl_minutes=10', alice.key);
  const a2 = await sys.createMailbox('?ttl_minutes=1000', alice.key);
  t.is(a2.ttl_minutes, 60, 'free plan max');
  await sys.createMailbox('', bob.key);
  const list = await sys.json('/api/v1/mailboxes', { token: alice.key });
  t.is(list.status, 200);
  t.deepEqual(list.body.map((m: { address: string }) => m.address).sort(), [a1.address, a2.address].sort());
  t.true(list.body.every((m: { plan: string }) => m.plan === 'free'));
  const viaKey = await sys.json(`/api/v1/mailboxes/${a1.address}`, { token: alice.key });
  t.is(viaKey.status, 200);
  const bobReads = await sys.json(`/api/v1/mailboxes/${a1.address}`, { token: bob.key });
  t.is(bobReads.status, 404);
  const anon = await sys.json('/api/v1/mailboxes');
  t.is(anon.status, 401);
  const tokenList = await sys.json('/api/v1/mailboxes', { token: a1.token });
  t.deepEqual(
    tokenList.body.map((m: { address: string }) => m.address),
    [a1.address],
  );
});

test('the list of live mailboxes keeps one without expires_at (it does not expire), as is_active says', async (t) => {
  const { sys } = t.context;
  const owner = await createUserWithKey(sys.deps.stores, 'free');
  const ttl = await sys.createMailbox('', owner.key);
  const lasting = await sys.createMailbox('', owner.key);
  const ended = await sys.createMailbox('', owner.key);
  // null expires_at: a mailbox that does not expire (the column allows it for connected mailboxes)
  await sys.deps.db('mailboxes').where({ address: lasting.address }).update({ expires_at: null });
  await sys.deps
    .db('mailboxes')
    .where({ address: ended.address })
    .update({ expires_at: sys.deps.db.raw(`now() - interval '1 second'`) });
  const list = await sys.json('/api/v1/mailboxes', { token: owner.key });
  t.is(list.status, 200);
  t.deepEqual(list.body.map((m: { address: string }) => m.address).sort(), [ttl.address, lasting.address].sort());
  t.true(list.body.every((m: { is_active: boolean }) => m.is_active));
  const all = await sys.json('/api/v1/mailboxes?include_inactive=true', { token: owner.key });
  t.is(all.body.length, 3);
});

test('DELETE deactivates at once: later reads answer 410 mailbox_deleted', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const del = await sys.api(`/api/v1/mailboxes/${box.address}`, { method: 'DELETE', token: box.token });
  t.is(del.status, 204);
  const after = await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token });
  t.is(after.status, 410);
  t.is(after.body.error.code, 'mailbox_deleted');
  const msgs = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.is(msgs.status, 410);
  const other = await sys.createMailbox();
  const stranger = await sys.api(`/api/v1/mailboxes/${other.address}`, { method: 'DELETE', token: box.token });
  t.is(stranger.status, 404, 'cannot delete what you cannot see');
});

test('a mailbox past expires_at answers 410 mailbox_expired even if no job deactivated it', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  await sys.deps
    .db('mailboxes')
    .where({ address: box.address })
    .update({ expires_at: sys.deps.db.raw(`now() - interval '1 second'`) });
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.is(r.status, 410);
  t.is(r.body.error.code, 'mailbox_expired');
});

test('unknown routes and methods are JSON errors', async (t) => {
  const { sys } = t.context;
  const nf = await sys.json('/api/v1/nothing');
  t.is(nf.status, 404);
  t.is(nf.body.error.code, 'not_found');
  const m = await sys.json('/api/v1/mailboxes', { method: 'PUT' });
  t.is(m.status, 405);
  t.is(m.body.error.code, 'method_not_allowed');
});

test('CLI users:create prints a working API key alone on its last line', async (t) => {
  const { sys } = t.context;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/bin/cli.ts', 'users:create', '--plan', 'free'],
    {
      env: { ...process.env, DATABASE_URL: sys.database.url },
    },
  );
  const lines = stdout.trimEnd().split('\n');
  const key = lines[lines.length - 1]!;
  t.regex(key, /^mw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
  const box = await sys.createMailbox('', key);
  const row = await sys.deps
    .db('api_keys')
    .where({ prefix: key.slice(0, 11) })
    .first();
  t.truthy(row);
  t.false(JSON.stringify(row).includes(key.slice(12)), 'the key is stored only hashed');
  const list = await sys.json('/api/v1/mailboxes', { token: key });
  t.is(list.body[0].address, box.address);
  const unknownPlan = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/bin/cli.ts', 'users:create', '--plan', 'gold'],
    {
      env: { ...process.env, DATABASE_URL: sys.database.url },
    },
  ).then(
    () => 'ok',
    (e: { code: number; stderr: string }) => `${e.code} ${e.stderr}`,
  );
  t.regex(unknownPlan, /^1 error: no plan "gold"/);
});

test('tokens are stored hashed: no clear-text token in the database', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const rows = await sys.deps.db('agent_tokens').select('*');
  t.false(JSON.stringify(rows).includes(box.token));
  t.false(JSON.stringify(rows).includes(box.token.split('.')[2]!), 'signature is not stored');
});

test('an oversized JSON body is 413 payload_too_large', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x'.repeat(100 * 1024) }),
  });
  t.is(r.status, 413);
  t.is(r.body.error.code, 'payload_too_large');
});

test('unknown query parameters are refused on every mailbox and message route', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (const [method, path] of [
    ['GET', ''],
    ['DELETE', ''],
    ['GET', '/messages/01M84075HHEMZ1TDJZPYYK706V'],
    ['GET', '/messages/01M84075HHEMZ1TDJZPYYK706V/raw'],
    ['DELETE', '/messages/01M84075HHEMZ1TDJZPYYK706V'],
  ]) {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}${path}?owner=me`, { method, token: box.token });
    t.is(r.status, 400, `${method} ${path}`);
    t.is(r.body.error.code, 'unknown_parameter');
  }
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token })).status, 200, 'nothing was deleted');
});
