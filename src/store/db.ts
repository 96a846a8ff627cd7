import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../core/config.js';

// bigint (int8) columns come back as strings by default; ours (sizes, sequence numbers) fit in a double.
pg.types.setTypeParser(20, (v: string) => Number(v));

export type Db = Knex | Knex.Transaction;

export function createDb(
  config: { db: Omit<Config['db'], 'queryTimeoutMs'> & { queryTimeoutMs?: number } },
  overrides: Partial<Knex.Config> = {},
): Knex {
  return knex({
    client: 'pg',
    connection: {
      connectionString: config.db.url,
      connectionTimeoutMillis: 5_000,
      query_timeout: config.db.queryTimeoutMs,
    } as Knex.PgConnectionConfig,
    pool: { min: 0, max: config.db.poolMax, acquireTimeoutMillis: 10_000 },
    acquireConnectionTimeout: 10_000,
    ...overrides,
  });
}
