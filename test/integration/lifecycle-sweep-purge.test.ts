import anyTest, { type TestFn } from 'ava';
import type { Knex } from 'knex';
import type { RedisClient as Redis } from '../../src/core/redis.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';
import type { MaintenanceDeps } from '../../src/maintenance/context.js';
import { purgeInactive } from '../../src/maintenance/purge.js';
import { sweepExpired } from '../../src/maintenance/sweep.js';
import { redisPublisher } from '../../src/pubsub/events.js';
import { connectRedis } from '../../src/core/redis.js';
import { createDb } from '../../src/store/db.js';
import { lifecycleStore } from '../../src/store/lifecycle.js';
import { messageStore } from '../../src/store/messages.js';
import { newMessage } from '../helpers/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const test = anyTest.serial as TestFn<{ database: TestDatabase; db: Knex; redis: Redis; deps: MaintenanceDeps }>;

test.before(async (t) => {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: 'silent',
    PURGE_BATCH_SIZE: '7',
  });
  const db = createDb(config);
  const redis = await connectRedis(config, 'producer');
  const deps = {
    config,
    log: createLogger(config, 'test'),
    lifecycle: lifecycleStore(db),
    publisher: redisPublisher(redis, config.redis.prefix),
  };
  t.context = { database, db, redis, deps };
});
test.after.always(async (t) => {
  t.context.redis?.disconnect();
  await t.context.db?.destroy();
  await t.context.database?.drop();
});

/** n mailboxes named `<tag>-<i>@x.test`; the column values are SQL expressions. */
const insertMailboxes = (
  db: Knex,
  tag: string,
  n: number,
  cols: { expires_at: string; is_active?: boolean; deactivated_at?: string },
) =>
  db.raw(
    `insert into mailboxes (address, plan_id, expires_at, is_active, deactivated_at, deactivated_reason)
     select ? || '-' || g || '@x.test', 'anonymous', ${cols.expires_at}, ?, ${cols.deactivated_at ?? 'null'}, ${cols.is_active === false ? `'expired'` : 'null'}
     from generate_series(1, ?) g`,
    [tag, cols.is_active ?? true, n],
  );

const countWhere = async (db: Knex, sql: string) =>
  Number((await db.raw(`select count(*)::int as n from mailboxes where ${sql}`)).rows[0].n);

const insertMessages = (db: Knex, tag: string, perMailbox: number) =>
  db.raw(
    `insert into messages (id, mailbox_id, seq, ingress_id, source, raw, size_bytes, received_at)
     select m.id || '-' || g, m.id, g, 'i' || g, 'smtp', decode(repeat('ab', 512), 'hex'), 512, now()
     from mailboxes m, generate_series(1, ?) g where m.address like ? || '-%'`,
    [perMailbox, tag],
  );

test('the delivery write after expires_at is refused even though the row is still marked active', async (t) => {
  const { db } = t.context;
  const [{ id }] = await db('mailboxes')
    .insert({
      address: 'late@x.test',
      plan_id: 'anonymous',
      expires_at: db.raw(`clock_timestamp() - interval '50 milliseconds'`),
    })
    .returning('id');
  const r = await messageStore(db).deliver(newMessage(id), { maxMessages: 100 });
  t.deepEqual(r, { status: 'refused', reason: 'mailbox_expired' });
  t.is((await db('messages').where({ mailbox_id: id })).length, 0);
  const row = await db('mailboxes').where({ id }).first();
  t.true(row.is_active);
  t.is(row.message_count, 0);
  t.is(Number(row.last_seq), 0);
});

test('the sweep expires thousands of mailboxes with one UPDATE (and one write of their mailbox.expired events, in its transaction) and touches nothing else', async (t) => {
  const { db, deps } = t.context;
  await insertMailboxes(db, 'overdue', 5_000, { expires_at: `now() - interval '1 second'` });
  await insertMailboxes(db, 'future', 50, { expires_at: `now() + interval '1 hour'` });
  await insertMailboxes(db, 'gone', 50, {
    expires_at: `now() - interval '2 hours'`,
    is_active: false,
    deactivated_at: `now() - interval '1 hour'`,
  });

  const statements: string[] = [];
  const onQuery = (q: { sql: string }) => statements.push(q.sql);
  db.on('query', onQuery);
  const result = await sweepExpired(deps);
  db.off('query', onQuery);

  // issue 22: the mailbox.expired events (the webhook ledger) are written in the sweep's transaction, in one
  // statement for all the mailboxes, never one per mailbox
  const work = statements.filter((s) => !/^(BEGIN|COMMIT)/i.test(s));
  t.is(work.length, 2, `one UPDATE and one events statement, got: ${statements.join(' | ')}`);
  t.regex(work[0]!, /^update "mailboxes"/);
  t.regex(work[1]!, /insert into "?events"?/i);
  t.is(result.expired, 5_001, 'the 5,000 overdue ones plus the one from the previous test');
  t.is(result.published, 5_001);
  t.is(
    await countWhere(
      db,
      `address like 'overdue-%' and not is_active and deactivated_reason = 'expired' and deactivated_at is not null`,
    ),
    5_000,
  );
  t.is(await countWhere(db, `address like 'future-%' and is_active`), 50);
  t.is(
    await countWhere(db, `address like 'gone-%' and deactivated_at < now() - interval '59 minutes'`),
    50,
    'already inactive rows are not rewritten',
  );
  t.is((await sweepExpired(deps)).expired, 0, 'a second sweep finds nothing');
});

test('purge deletes only mailboxes inactive for longer than the retention, with their messages, in bounded batches', async (t) => {
  const { db, deps } = t.context;
  await db('mailboxes').delete();
  await insertMailboxes(db, 'old', 20, {
    expires_at: `now() - interval '3 days'`,
    is_active: false,
    deactivated_at: `now() - interval '2 days'`,
  });
  await insertMailboxes(db, 'recent', 5, {
    expires_at: `now() - interval '2 hours'`,
    is_active: false,
    deactivated_at: `now() - interval '1 hour'`,
  });
  await insertMailboxes(db, 'unswept', 5, { expires_at: `now() - interval '3 days'` });
  await insertMailboxes(db, 'live', 5, { expires_at: `now() + interval '1 hour'` });
  await insertMessages(db, 'old', 10);
  await insertMessages(db, 'recent', 3);
  await insertMessages(db, 'unswept', 3);
  await insertMessages(db, 'live', 3);
  await db.raw(
    `insert into agent_tokens (jti, mailbox_id, permissions, expires_at) select 'j-' || id, id, '["read"]', expires_at from mailboxes`,
  );

  const deletes: string[] = [];
  const onQuery = (q: { sql: string }) => {
    if (/^delete/.test(q.sql)) deletes.push(q.sql);
  };
  db.on('query', onQuery);
  const result = await purgeInactive(deps);
  db.off('query', onQuery);

  t.is(result.mailboxes, 20);
  t.is(result.messages, 200);
  t.true(deletes.length >= Math.ceil(200 / 7), `batches of at most 7 rows: ${deletes.length} delete statements`);
  t.is(await countWhere(db, `address like 'old-%'`), 0);
  t.is(await countWhere(db, `address like 'recent-%' or address like 'unswept-%' or address like 'live-%'`), 15);
  const left = await db.raw(`select count(*)::int as n from messages`);
  t.is(left.rows[0].n, 45);
  const tokens = await db.raw(`select count(*)::int as n from agent_tokens`);
  t.is(tokens.rows[0].n, 15, 'tokens of purged mailboxes went with them');
  const again = await purgeInactive(deps);
  t.deepEqual([again.mailboxes, again.messages, again.statements], [0, 0, 1], 'nothing left to purge: one cheap query');
});
