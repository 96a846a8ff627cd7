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
 * from several machines at once (every `npm start` runs it): migrate and seed run under a session advisory
 * lock, so concurrent releases take turns and the later ones find nothing to do.
 */
export async function release(config: Config) {
  let created = false;
  try {
    created = await ensureDatabase(config.db.url);
  } catch (err) {
    // managed databases may refuse CREATE DATABASE / access to `postgres`: the database then exists already
    if ((err as { code?: string }).code !== '42501' && (err as { code?: string }).code !== '3D000') throw err;
  }
  const db = createDb({ db: { url: config.db.url, poolMax: config.db.poolMax } }); // no query timeout: migrations may be long
  // the lock lives on one connection of its own, held from before migrate to after seed
  const lock = new pg.Client({ connectionString: config.db.url, connectionTimeoutMillis: 10_000 });
  try {
    await lock.connect();
    await lock.query('select pg_advisory_lock($1)', [RELEASE_LOCK_KEY]);
    const repairedLockRows = await repairMigrationLock(db);
    const { batch, applied } = await migrateLatest(db);
    const seeded = await seed(db);
    return { created, batch, applied, seeded, ...(repairedLockRows ? { repairedLockRows } : {}) };
  } finally {
    await lock.end().catch(() => {
      /* closing the session releases the lock */
    });
    await db.destroy();
  }
}
