import anyTest, { type TestFn } from 'ava';
import { generateKey } from '../../src/core/secret-box.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { spawnRole, type RoleProcess } from '../helpers/spawn-role.js';

// What the web role says at start about CREDENTIALS_KEY (connected mailboxes' passwords).
const test = anyTest as TestFn<{ database: TestDatabase; prefix: string }>;
const START_MS = 60_000;
test.before(async (t) => {
  t.context = { database: await createTestDatabase(), prefix: uniquePrefix() };
});
test.after.always(async (t) => {
  await t.context.database?.drop();
  await dropPrefix(t.context.prefix);
});

const startWeb = (
  t: { context: { database: TestDatabase; prefix: string } },
  extra: Record<string, string>,
): RoleProcess =>
  spawnRole('web', {
    DATABASE_URL: t.context.database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: t.context.prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    TOKEN_SECRET: 'k'.repeat(40),
    ...extra,
  });

test.serial('outside production without CREDENTIALS_KEY: a warning to back up the generated key file', async (t) => {
  const web = startWeb(t, {});
  try {
    const warning = await web.waitFor('credentials_key.generated', START_MS);
    t.is(warning.level, 40);
    t.is(warning.file, '.data/credentials-key');
    t.regex(String(warning.hint), /Losing that file loses every stored credential/);
    await web.waitFor('web.listening', START_MS);
  } finally {
    await web.stop();
  }
});

test.serial('in production without CREDENTIALS_KEY: a warning that connected mailboxes are disabled', async (t) => {
  const web = startWeb(t, { NODE_ENV: 'production' });
  try {
    const warning = await web.waitFor('credentials_key.missing', START_MS);
    t.is(warning.level, 40);
    t.regex(String(warning.hint), /501 connected_disabled/);
  } finally {
    await web.stop();
  }
});

test.serial('with CREDENTIALS_KEY: no warning, and the key is never logged', async (t) => {
  const key = generateKey();
  const web = startWeb(t, { CREDENTIALS_KEY: key });
  try {
    await web.waitFor('web.listening', START_MS);
    t.false(web.lines.some((l) => String(l.event).startsWith('credentials_key.')));
    t.false(JSON.stringify(web.lines).includes(key));
  } finally {
    await web.stop();
  }
});
