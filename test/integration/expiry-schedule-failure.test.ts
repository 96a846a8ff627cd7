import { randomBytes } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { Queue } from 'bullmq';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { createTokenSigner } from '../../src/access/tokens.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { createMailbox } from '../../src/mailboxes/create.js';
import { connectRedis } from '../../src/core/redis.js';
import { createDb } from '../../src/store/db.js';
import { planStore } from '../../src/store/plans.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const test = anyTest as TestFn<{ database: TestDatabase; db: Knex; config: Config }>;
test.before(async (t) => {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    MAIL_DOMAINS: 'mw.test',
  });
  t.context = { database, db: createDb(config), config };
});
test.after.always(async (t) => {
  await t.context.db?.destroy();
  await t.context.database?.drop();
  if (t.context.config) await dropPrefix(t.context.config.redis.prefix);
});

test('mailbox creation succeeds and logs when its expiry job cannot be enqueued (the sweep is the safety net)', async (t) => {
  const { db, config } = t.context;
  const proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
  const redis = await connectRedis({ redis: { ...config.redis, url: `redis://127.0.0.1:${proxy.port}` } }, 'producer', {
    retryStrategy: () => 50,
  });
  const maintenance = new Queue('maintenance', { connection: redis, prefix: config.redis.prefix });
  const queueErrors: string[] = [];
  maintenance.on('error', (err) => queueErrors.push(err.message)); // Redis is cut on purpose below
  t.teardown(() => t.log(`queue errors while cut: ${queueErrors.length} (${[...new Set(queueErrors)].join('; ')})`));
  const lines: string[] = [];
  const log = pino(
    { level: 'warn' },
    {
      write: (s: string) => {
        lines.push(s);
      },
    },
  );
  try {
    await maintenance.waitUntilReady();
    proxy.break();
    const created = await createMailbox(
      {
        db,
        plans: planStore(db),
        signer: createTokenSigner(randomBytes(32).toString('hex')),
        config,
        queues: { maintenance },
        log,
      },
      { ownerUserId: null, planId: 'anonymous', ttlMinutes: 5 },
    );
    t.true(created.mailbox.isActive);
    t.truthy(await db('mailboxes').where({ id: created.mailbox.id }).first());
    const warned = lines
      .map((l) => JSON.parse(l) as { event: string; mailboxId: string })
      .find((l) => l.event === 'lifecycle.schedule_failed');
    t.is(warned?.mailboxId, created.mailbox.id);
  } finally {
    await maintenance.close().catch(() => undefined);
    redis.disconnect();
    await proxy.close();
  }
});
