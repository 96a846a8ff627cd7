import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent } from '../../src/store/bootstrap.js';
import { createDb } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migration-source.js';
import { seed } from '../../src/store/seed.js';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const withAdmin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated and seeded database for one test file (ava runs files in parallel). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mw_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`create database ${quoteIdent(name)}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDb({ db: { url: url.toString(), poolMax: 2 } });
  try {
    await migrateLatest(db);
    await seed(db);
  } finally {
    await db.destroy();
  }
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin((c) => c.query(`drop database if exists ${quoteIdent(name)} with (force)`)).then(() => undefined),
  };
}
