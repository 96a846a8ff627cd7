import type { Config } from '../core/config.js';
import { ensureDatabase } from '../store/bootstrap.js';
import { createDb } from '../store/db.js';
import { migrateLatest } from '../store/migration-source.js';
import { seed } from '../store/seed.js';

/** The release step: create the database if missing, apply migrations, seed plans. Idempotent. */
export async function release(config: Config) {
  let created = false;
  try {
    created = await ensureDatabase(config.db.url);
  } catch (err) {
    // managed databases may refuse CREATE DATABASE / access to `postgres`: the database then exists already
    if ((err as { code?: string }).code !== '42501' && (err as { code?: string }).code !== '3D000') throw err;
  }
  const db = createDb({ db: { url: config.db.url, poolMax: config.db.poolMax } }); // no query timeout: migrations may be long
  try {
    const { batch, applied } = await migrateLatest(db);
    const seeded = await seed(db);
    return { created, batch, applied, seeded };
  } finally {
    await db.destroy();
  }
}
