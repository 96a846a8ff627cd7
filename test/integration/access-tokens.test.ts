import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { channelNamespace, mailboxChannel } from '../../src/pubsub/events.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant, type Tenant } from '../helpers/tenants.js';

const test = anyTest as TestFn<{ sys: System; owner: Tenant }>;
test.before(async (t) => {
  const sys = await startSystem({ roles: ['web'], env: { TOKENS_PER_MAILBOX_MAX: '6', API_KEYS_PER_USER_MAX: '3' } });
  t.context = { sys, owner: await createTenant(sys) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const mint = (sys: System, address: string, token: string, body: unknown) =>
  call(sys, 'POST', `/api/v1/mailboxes/${address}/tokens`, { token, body });

test('an API key mints a scoped token (shown once); the list shows everything but the secret', async (t) => {
  const { sys, owner } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30', owner.apiKey);
  const r = await mint(sys, box.address, owner.apiKey, { name: 'ci-reader', permissions: ['read'], ttl_minutes: 10 });
  t.is(r.status, 201);
  t.is(r.headers.get('cache-control'), 'no-store');
  t.deepEqual(r.body.permissions, ['read']);
  t.is(r.body.name, 'ci-reader');
  const ttlMs = Date.parse(r.body.expires_at) - Date.now();
  t.true(ttlMs > 9 * 60_000 && ttlMs <= 10 * 60_000, `expires in ${ttlMs} ms`);

  const read = await call(sys, 'GET', `/api/v1/mailboxes/${box.address}/messages`, { token: r.body.token });
  t.is(read.status, 200);
  const del = await call(sys, 'DELETE', `/api/v1/mailboxes/${box.address}`, { token: r.body.token });
  t.is(del.status, 403);

  // last use is recorded off the request path: poll for it
  const until = Date.now() + 5_000;
  let list = await call(sys, 'GET', `/api/v1/mailboxes/${box.address}/tokens`, { token: owner.apiKey });
  while (!list.body.find((x: any) => x.jti === r.body.jti).last_used_at && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 25));
    list = await call(sys, 'GET', `/api/v1/mailboxes/${box.address}/tokens`, { token: owner.apiKey });
  }
  t.is(list.status, 200);
  const mine = list.body.find((x: any) => x.jti === r.body.jti);
  t.deepEqual(Object.keys(mine).sort(), [
    'created_at',
    'expires_at',
    'is_revoked',
    'jti',
    'last_used_at',
    'max_sends_per_day',
    'name',
    'permissions',
    'revoked_at',
  ]);
  t.is(mine.max_sends_per_day, null, 'no cap of its own: only the plan counts');
  t.truthy(mine.last_used_at, 'use is recorded');
  t.false(list.text.includes(r.body.token));
  t.false(list.text.includes(box.token));
  t.true(
    list.body.some((x: any) => x.name === 'creator'),
    'the creation token is an agent token too',
  );
});

test('a token can never grant more than it holds, nor outlive itself or the mailbox', async (t) => {
  const { sys, owner } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=20', owner.apiKey);
  const boxEnds = Date.parse(box.expires_at);
  const capped = await mint(sys, box.address, owner.apiKey, { permissions: ['read', 'manage'], ttl_minutes: 100_000 });
  t.is(capped.status, 201);
  t.is(Date.parse(capped.body.expires_at), boxEnds, 'capped at the end of the mailbox');

  const child = await mint(sys, box.address, capped.body.token, { permissions: ['read', 'manage'], ttl_minutes: 5 });
  t.is(child.status, 201);
  const escalate = await mint(sys, box.address, child.body.token, { permissions: ['read', 'send'] });
  t.is(escalate.status, 403);
  t.is(escalate.body.error.code, 'permission_escalation');
  const grandchild = await mint(sys, box.address, child.body.token, { permissions: ['read'], ttl_minutes: 60 });
  t.is(grandchild.status, 201);
  t.is(grandchild.body.expires_at, child.body.expires_at, "capped at the minting token's own expiry");

  const readOnly = await mint(sys, box.address, owner.apiKey, { permissions: ['read'] });
  const cannot = await mint(sys, box.address, readOnly.body.token, { permissions: ['read'] });
  t.is(cannot.status, 403);
  t.is(cannot.body.error.code, 'insufficient_permission');
  t.is((await call(sys, 'POST', '/api/v1/keys', { token: capped.body.token })).body.error.code, 'api_key_required');
});

test('revoking a token: next request 401, token_revoked published on the mailbox channel, idempotent', async (t) => {
  const { sys, owner } = t.context;
  const box = await sys.createMailbox('', owner.apiKey);
  const agent = await mint(sys, box.address, owner.apiKey, { permissions: ['read'] });
  const mailboxId = (await sys.deps.stores.mailboxes.findByAddress(box.address))!.id;

  const sub = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  t.teardown(() => sub.disconnect());
  const events: any[] = [];
  const received = new Promise<void>((resolve) =>
    sub.on('message', (_c, m) => {
      events.push(JSON.parse(m));
      resolve();
    }),
  );
  await sub.subscribe(mailboxChannel(channelNamespace(sys.config.redis), mailboxId));

  t.is((await call(sys, 'GET', `/api/v1/mailboxes/${box.address}`, { token: agent.body.token })).status, 200);
  const del = await call(sys, 'DELETE', `/api/v1/mailboxes/${box.address}/tokens/${agent.body.jti}`, {
    token: box.token,
  });
  t.is(del.status, 204);
  await received;
  t.deepEqual(events, [{ type: 'token_revoked', mailboxId, jti: agent.body.jti }]);

  const after = await call(sys, 'GET', `/api/v1/mailboxes/${box.address}`, { token: agent.body.token });
  t.is(after.status, 401);
  t.is(after.body.error.message, 'token has been revoked');
  const again = await call(sys, 'DELETE', `/api/v1/mailboxes/${box.address}/tokens/${agent.body.jti}`, {
    token: box.token,
  });
  t.is(again.status, 204, 'revoking twice is fine');
  const list = await call(sys, 'GET', `/api/v1/mailboxes/${box.address}/tokens`, { token: box.token });
  const row = list.body.find((x: any) => x.jti === agent.body.jti);
  t.true(row.is_revoked);
  t.truthy(row.revoked_at);
  t.is(events.length, 1, 'published once');
  t.is((await call(sys, 'DELETE', `/api/v1/mailboxes/${box.address}/tokens/nope`, { token: box.token })).status, 404);
});

test('tokens per mailbox are capped (TOKENS_PER_MAILBOX_MAX)', async (t) => {
  const { sys, owner } = t.context;
  const box = await sys.createMailbox('', owner.apiKey); // the creator token is number 1
  for (let i = 0; i < 5; i++) t.is((await mint(sys, box.address, owner.apiKey, { permissions: ['read'] })).status, 201);
  const over = await mint(sys, box.address, owner.apiKey, { permissions: ['read'] });
  t.is(over.status, 403);
  t.is(over.body.error.code, 'token_limit_reached');
});

test('API keys: create (shown once), list by prefix, revoke; a revoked key is refused', async (t) => {
  const { sys } = t.context;
  const user = await createTenant(sys);
  const created = await call(sys, 'POST', '/api/v1/keys', { token: user.apiKey, body: { name: 'deploy' } });
  t.is(created.status, 201);
  t.regex(created.body.key, /^mw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
  t.is(created.body.prefix, created.body.key.slice(0, 11));
  const row = await sys.deps.db('api_keys').where({ id: created.body.id }).first();
  t.false(JSON.stringify(row).includes(created.body.key.slice(12)), 'the secret part is not stored');

  const list = await call(sys, 'GET', '/api/v1/keys', { token: created.body.key });
  t.is(list.status, 200);
  t.deepEqual(list.body.map((k: any) => k.prefix).sort(), [user.keyPrefix, created.body.prefix].sort());
  t.deepEqual(Object.keys(list.body[0]).sort(), ['created_at', 'id', 'last_used_at', 'name', 'prefix', 'revoked_at']);
  t.false(list.text.includes(created.body.key) || list.text.includes(user.apiKey));

  t.is((await call(sys, 'DELETE', `/api/v1/keys/${user.keyId}`, { token: created.body.key })).status, 204);
  const refused = await call(sys, 'GET', '/api/v1/keys', { token: user.apiKey });
  t.is(refused.status, 401);
  const listed = await call(sys, 'GET', '/api/v1/keys', { token: created.body.key });
  t.truthy(listed.body.find((k: any) => k.id === user.keyId).revoked_at);
  t.is((await call(sys, 'GET', '/api/v1/keys')).status, 401, 'anonymous');
  t.is((await call(sys, 'DELETE', '/api/v1/keys/not-a-uuid', { token: created.body.key })).status, 404);
});

test('API keys per user are capped (API_KEYS_PER_USER_MAX)', async (t) => {
  const { sys } = t.context;
  const user = await createTenant(sys);
  for (let i = 0; i < 2; i++) t.is((await call(sys, 'POST', '/api/v1/keys', { token: user.apiKey })).status, 201);
  const over = await call(sys, 'POST', '/api/v1/keys', { token: user.apiKey });
  t.is(over.status, 403);
  t.is(over.body.error.code, 'key_limit_reached');
});
