import type { Db } from './db.js';

interface PgConnection {
  query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
interface KnexPool {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(c: PgConnection): Promise<unknown>;
}

/**
 * Run a hot-path statement as a named prepared statement on a connection of knex's pool (or on the
 * transaction's connection when `db` is a transaction): Postgres parses and plans it once per
 * connection, and no query builder runs per call. `text` uses $1..$n; `name` must be unique per text.
 */
export async function preparedQuery<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const pool = db.client as unknown as KnexPool;
  const conn = await pool.acquireConnection();
  try {
    return (await conn.query({ name, text, values })).rows as Row[];
  } finally {
    await pool.releaseConnection(conn);
  }
}
