import anyTest, { type TestFn } from 'ava';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { spawnRole, type RoleProcess } from '../helpers/spawn-role.js';

// What the web role says at start about the operator's settings: Bull Board (on or off, and how to change
// that) and a token secret that only this machine has.
const test = anyTest as TestFn<{ database: TestDatabase; prefix: string }>;
// serial, and patient: a spawned role compiles its TypeScript at start, slow on a busy machine
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
    ...extra,
  });

test.serial(
  'without TOKEN_SECRET (outside production): a warning that every web process must share one; Bull Board off, and how to turn it on',
  async (t) => {
    const web = startWeb(t, {});
    try {
      const listening = await web.waitFor('web.listening', START_MS);
      t.regex(
        String(listening.adminBoard),
        /^off \(set ADMIN_USER and ADMIN_PASSWORD to serve it at \/admin\/queues\)$/,
      );
      const warning = await web.waitFor('token_secret.generated', START_MS);
      t.is(warning.level, 40);
      t.is(warning.file, '.data/token-secret');
      t.regex(String(warning.hint), /Every web process of one deployment must share one TOKEN_SECRET/);
    } finally {
      await web.stop();
    }
  },
);

test.serial(
  'with TOKEN_SECRET and admin credentials: no warning; the board is on, read-only, and says how to enable actions',
  async (t) => {
    const web = startWeb(t, { TOKEN_SECRET: 'k'.repeat(40), ADMIN_USER: 'ops', ADMIN_PASSWORD: 'pw-not-in-the-log' });
    try {
      const listening = await web.waitFor('web.listening', START_MS);
      t.regex(
        String(listening.adminBoard),
        /^at \/admin\/queues \(HTTP Basic, ADMIN_USER; read-only: ADMIN_BOARD_ACTIONS=true enables retry\/clean\/promote;/,
      );
      // the warning would come before web.listening
      t.false(web.lines.some((l) => l.event === 'token_secret.generated'));
      t.false(JSON.stringify(web.lines).includes('pw-not-in-the-log'));
    } finally {
      await web.stop();
    }
  },
);

test.serial('with ADMIN_BOARD_ACTIONS=true the start log says retry/clean/promote are enabled', async (t) => {
  const web = startWeb(t, {
    TOKEN_SECRET: 'k'.repeat(40),
    ADMIN_USER: 'ops',
    ADMIN_PASSWORD: 'pw',
    ADMIN_BOARD_ACTIONS: 'true',
  });
  try {
    t.regex(
      String((await web.waitFor('web.listening', START_MS)).adminBoard),
      /retry\/clean\/promote enabled by ADMIN_BOARD_ACTIONS/,
    );
  } finally {
    await web.stop();
  }
});
