import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { API_KEY_PATTERN, apiKeyMatches, generateApiKey, type GeneratedKey } from '../../src/core/api-keys.js';
import { Unavailable } from '../../src/core/errors.js';
import { API_KEY_CREATE_ATTEMPTS } from '../../src/store/api-keys.js';
import { createStores } from '../../src/store/index.js';
import { startSystem, type System } from '../helpers/system.js';
import { createUserWithKey } from '../helpers/users.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context = { sys: await startSystem({ roles: ['web'] }) };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

/** A random source whose first draw (the 4 prefix bytes) is `prefixHex`; every other byte is really random. */
const randomWithPrefix = (prefixHex: string) => (size: number) =>
  size === 4 ? Buffer.from(prefixHex, 'hex') : randomBytes(size);
const uniqueHex = () => randomBytes(4).toString('hex');

/** A generator that yields `first` keys in turn, then fresh random ones; counts its calls. */
function scripted(first: GeneratedKey[]) {
  const queue = [...first];
  const gen = () => {
    gen.calls++;
    return queue.shift() ?? generateApiKey();
  };
  gen.calls = 0;
  return gen;
}

/** An existing key row whose prefix is `mw_<hex>`; returns it with its owner. */
async function existingKey(sys: System, hex: string) {
  const owner = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  const k = generateApiKey(randomWithPrefix(hex));
  const record = await sys.deps.stores.apiKeys.insert({
    userId: owner.id,
    prefix: k.prefix,
    salt: k.salt,
    keyHash: k.hash,
    name: 'first',
  });
  return { owner, k, record };
}

test('the injected random source decides the prefix (so a collision can be forced)', (t) => {
  const a = generateApiKey(randomWithPrefix('0badc0de'));
  const b = generateApiKey(randomWithPrefix('0badc0de'));
  t.is(a.prefix, 'mw_0badc0de');
  t.is(b.prefix, a.prefix);
  t.not(a.key, b.key);
  t.regex(a.key, API_KEY_PATTERN);
});

test('a taken prefix is retried with a fresh key: the caller gets a working key, the existing key is untouched', async (t) => {
  const { sys } = t.context;
  const hex = uniqueHex();
  const { record: old } = await existingKey(sys, hex);
  const user = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  const gen = scripted([generateApiKey(randomWithPrefix(hex))]);

  const created = await sys.deps.stores.apiKeys.create({ userId: user.id, name: 'second' }, gen);

  t.is(gen.calls, 2);
  t.is(created.attempts, 2);
  t.not(created.record.prefix, `mw_${hex}`);
  t.regex(created.key, API_KEY_PATTERN);
  t.true(created.key.startsWith(`${created.record.prefix}_`));
  t.true(apiKeyMatches(created.key, created.record.salt, created.record.keyHash));
  t.is(created.record.userId, user.id);
  t.is(created.record.name, 'second');
  const rows = await sys.deps.db('api_keys').where({ prefix: `mw_${hex}` });
  t.is(rows.length, 1);
  t.is(rows[0].id, old.id);
  t.is(rows[0].user_id, old.userId);
  t.is(rows[0].name, 'first');
  // the new key works over HTTP, the old one still belongs to its owner
  const r = await sys.json('/api/v1/keys', { token: created.key });
  t.is(r.status, 200);
  t.deepEqual(
    r.body.map((k: { id: string }) => k.id),
    [created.record.id],
  );
});

test('inside a transaction (as POST /api/v1/keys runs it) a collision does not abort the transaction', async (t) => {
  const { sys } = t.context;
  const hex = uniqueHex();
  await existingKey(sys, hex);
  const user = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  const created = await sys.deps.db.transaction(async (trx) => {
    const tx = createStores(trx);
    const c = await tx.apiKeys.create(
      { userId: user.id, name: null },
      scripted([generateApiKey(randomWithPrefix(hex))]),
    );
    // still usable after the conflict: a further statement in the same transaction succeeds
    t.is(await tx.apiKeys.countActive(user.id), 1);
    return c;
  });
  t.is(created.attempts, 2);
  t.truthy(await sys.deps.db('api_keys').where({ id: created.record.id }).first(), 'committed');
});

test(`when every attempt collides, creation stops after ${API_KEY_CREATE_ATTEMPTS} tries with a clear error and stores nothing`, async (t) => {
  const { sys } = t.context;
  const hex = uniqueHex();
  await existingKey(sys, hex);
  const user = await sys.deps.stores.users.create({ email: null, planId: 'free' });
  let calls = 0;
  const always = () => {
    calls++;
    return generateApiKey(randomWithPrefix(hex));
  };
  const err = await t.throwsAsync(sys.deps.stores.apiKeys.create({ userId: user.id, name: null }, always), {
    instanceOf: Unavailable,
  });
  t.regex(err.message, new RegExp(`${API_KEY_CREATE_ATTEMPTS} generated prefixes in a row were already taken`));
  t.is(calls, API_KEY_CREATE_ATTEMPTS);
  t.is(await sys.deps.stores.apiKeys.countActive(user.id), 0);

  // in a transaction the error rolls back what the transaction did, nothing else (the user is found by its own
  // email: a count of all users raced with the other tests of this file, which create users at the same time)
  const email = `rollback-${hex}@example.test`;
  let createdId: string | undefined;
  await t.throwsAsync(
    sys.deps.db.transaction(async (trx) => {
      const tx = createStores(trx);
      const u = await tx.users.create({ email, planId: 'free' });
      createdId = u.id;
      await tx.apiKeys.create({ userId: u.id, name: null }, always);
    }),
    { instanceOf: Unavailable },
  );
  t.truthy(createdId);
  t.deepEqual(await sys.deps.db('users').where({ email }).orWhere({ id: createdId }).select('id'), []);
});

test('POST /api/v1/keys creates a working key through the store', async (t) => {
  const { sys } = t.context;
  const owner = await createUserWithKey(sys.deps.stores);
  const r = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: owner.key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ci' }),
  });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.regex(r.body.key, API_KEY_PATTERN);
  t.is(r.body.prefix, r.body.key.slice(0, 11));
  const list = await sys.json('/api/v1/keys', { token: r.body.key });
  t.is(list.status, 200);
  t.is(list.body.length, 2);
});

test('npm run cli -- users:create and keys:create print keys that work', async (t) => {
  const { sys } = t.context;
  const cli = async (...args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/cli.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: sys.config.db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    t.is(code, 0, err);
    return out.trim().split('\n');
  };
  const created = await cli('users:create', '--plan', 'free', '--name', 'from-cli');
  const key = created.at(-1)!;
  t.regex(key, API_KEY_PATTERN);
  const userId = /user ([0-9a-f-]{36}) created/.exec(created[0]!)?.[1];
  t.truthy(userId, created[0]);
  const another = (await cli('keys:create', '--user', userId!)).at(-1)!;
  t.regex(another, API_KEY_PATTERN);
  for (const k of [key, another]) {
    const r = await sys.json('/api/v1/keys', { token: k });
    t.is(r.status, 200);
    t.deepEqual(r.body.map((x: { name: string | null }) => x.name).sort(), ['from-cli', null].sort());
  }
});
