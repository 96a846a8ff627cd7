import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

/** Migration names without their extension, so `.ts` (tsx) and compiled `.js` agree. */
export const migrationSource = (directory: string): Knex.MigrationSource<string> => ({
  getMigrations: async () =>
    (await readdir(directory)).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts')).sort(),
  getMigrationName: (file) => file.replace(/\.(js|ts)$/, ''),
  getMigration: async (file) => (await import(pathToFileURL(join(directory, file)).href)) as Knex.Migration,
});

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function migrateLatest(db: Knex): Promise<{ batch: number; applied: string[] }> {
  const [batch, applied] = (await db.migrate.latest({ migrationSource: migrationSource(MIGRATIONS_DIR) })) as [
    number,
    string[],
  ];
  return { batch, applied };
}
