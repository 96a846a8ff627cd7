import { randomBytes } from 'node:crypto';
import test from 'ava';
import pg from 'pg';
import { loadConfig } from '../../src/core/config.js';
import { release } from '../../src/ops/release.js';
import { quoteIdent } from '../../src/store/bootstrap.js';
import { ADMIN_URL } from '../helpers/db.js';

/**
 * Found by an audit (2026-12-02): releases (every `npm start` runs one) started together on a fresh database
 * failed (a CREATE DATABASE race answered 23505, knex's racy lock-table creation), and could leave
 * knex_migrations_lock with two rows, after which every release failed with "Migration table is already locked".
 */
const freshDatabase = (t: { teardown(fn: () => Promise<void>): void }) => {
  const name = `mw_test_rel_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(`drop database if exists ${quoteIdent(name)} with (force)`);
    } finally {
      await c.end();
    }
  });
  return url.toString();
};
const query = async (url: string, sql: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

test('eight releases started together on a fresh database all succeed; one creates it and applies the migrations', async (t) => {
  const url = freshDatabase(t);
  const config = loadConfig({ DATABASE_URL: url, DATABASE_POOL_MAX: '2' });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => release(config)));
  const failed = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => String(r.reason));
  t.deepEqual(failed, []);
  const done = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof release>>>).value);
  t.is(done.filter((r) => r.created).length, 1, 'one of them created the database');
  const applied = done.map((r) => r.applied.length).filter((n) => n > 0);
  t.is(applied.length, 1, 'one of them applied the migrations, the others found nothing to do');
  t.deepEqual([Number((await query(url, 'select count(*) as n from knex_migrations'))[0].n)], applied);
  t.deepEqual(await query(url, 'select is_locked from knex_migrations_lock'), [{ is_locked: 0 }]);
  t.true(Number((await query(url, 'select count(*) as n from plans'))[0].n) >= 3, 'seeded');
});

test('a migration lock left with two rows by an earlier race is repaired by the next release', async (t) => {
  const url = freshDatabase(t);
  const config = loadConfig({ DATABASE_URL: url, DATABASE_POOL_MAX: '2' });
  await release(config);
  await query(url, 'insert into knex_migrations_lock (is_locked) values (0)');
  const again = await release(config);
  t.is(again.repairedLockRows, 1);
  t.deepEqual(await query(url, 'select is_locked from knex_migrations_lock'), [{ is_locked: 0 }]);
  t.deepEqual(again.applied, []);
});
