import pg from 'pg';

/**
 * Create the database named in `url` when it does not exist. Returns true when it was created. Used by
 * `npm start` and `release` so a fresh machine needs no manual step.
 *
 * The target database is tried first: when it answers, nothing else is needed. Managed providers often let a user
 * into its own database only, and PgBouncer knows only the databases it is configured for, so the `postgres`
 * database is asked (to CREATE DATABASE) only when the target does not exist (3D000).
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const direct = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await direct.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await direct.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`create database ${quoteIdent(name)}`);
    } catch (err) {
      // created concurrently: 42P04 when the other CREATE committed first, 23505 (pg_database_datname_index)
      // when both ran at once
      const code = (err as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
