// Used only by `npm run migrate:make`. Migrations are applied by src/bin/release.ts
// (extension-less migration names; see src/store/migration-source.ts).
import type { Knex } from 'knex';

const config: Knex.Config = {
  client: 'pg',
  connection: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mailwright',
  migrations: { directory: './migrations', extension: 'ts', loadExtensions: ['.ts'] },
};

export default config;
