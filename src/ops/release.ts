import type { Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../core/config.js';
import { ensureDatabase } from '../store/bootstrap.js';
import { createDb } from '../store/db.js';
import { migrateLatest } from '../store/migration-source.js';
import { seed } from '../store/seed.js';

/** pg_advisory_lock key of the release step ("MWRE"): one release at a time per database. */
export const RELEASE_LOCK_KEY = 0x4d575245;

/**
 * Knex's migration lock is itself created racily (select, then insert): releases started together on a fresh
 * database could leave two rows in knex_migrations_lock, after which knex refuses every migration ("Migration
 * table is already locked"). Under the advisory lock no release is migrating, so extra unlocked rows are such
 * leftovers: keep one.
 */
async function repairMigrationLock(db: Knex) {
  const exists = await db.raw<{ rows: { e: boolean }[] }>(
    `select to_regclass('knex_migrations_lock') is not null as e`,
  );
  if (!exists.rows[0]?.e) return 0; // a fresh database
  const removed = await db.raw<{ rowCount: number }>(
    'delete from knex_migrations_lock where ctid <> (select min(ctid) from knex_migrations_lock)',
  );
  if (removed.rowCount > 0) await db.raw('update knex_migrations_lock set is_locked = 0');
  return removed.rowCount;
}

/**
 * The release step: create the database if missing, apply migrations, seed plans. Idempotent, and safe to run
 * from several machines at once (every `npm start` runs it): migrate and seed run under an advisory lock, so
 * concurrent releases take turns and the later ones find nothing to do.
 */
export async function release(config: Config) {
  // the target database first; the `postgres` database only to create a missing one (store/bootstrap.ts)
  const created = await ensureDatabase(config.db.url);
  const db = createDb({ db: { url: config.db.url, poolMax: config.db.poolMax } }); // no query timeout: migrations may be long
  // The lock is a TRANSACTION advisory lock, in a transaction held open on a connection of its own from before
  // migrate to after seed. A session lock (pg_advisory_lock) through PgBouncer in transaction mode is taken on
  // whichever server connection ran that statement, which goes back to the pool still holding it: it outlives
  // `release` and blocks the next one forever. A transaction keeps its server connection until it ends, and its
  // lock ends with it (COMMIT, or the rollback when this process dies), directly or through a pooler.
  const lock = new pg.Client({ connectionString: config.db.url, connectionTimeoutMillis: 10_000 });
  try {
    await lock.connect();
    await lock.query('begin');
    await lock.query('select pg_advisory_xact_lock($1)', [RELEASE_LOCK_KEY]);
    const repairedLockRows = await repairMigrationLock(db);
    const { batch, applied } = await migrateLatest(db);
    const seeded = await seed(db);
    await lock.query('commit');
    return { created, batch, applied, seeded, ...(repairedLockRows ? { repairedLockRows } : {}) };
  } finally {
    await lock.end().catch(() => {
      /* closing the session ends the transaction and its lock */
    });
    await db.destroy();
  }
}
