import type { Knex } from 'knex';

/** Codes and links extracted by the worker at parse time (src/extract), returned on the full message. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.jsonb('codes').notNullable().defaultTo('[]');
    t.jsonb('links').notNullable().defaultTo('[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('codes');
    t.dropColumn('links');
  });
}
