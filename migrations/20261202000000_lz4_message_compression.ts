import type { Knex } from 'knex';

/**
 * Message bodies and raw bytes are compressed with LZ4 instead of pglz when the server supports it
 * (PostgreSQL 14+ built with lz4, as Debian's and the official images are): several times less Postgres
 * CPU per stored message for the same kind of saving. Metadata only: no table rewrite; values stored
 * before keep pglz and stay readable. On a server without lz4 this does nothing.
 */
const COLUMNS = ['raw', 'text_body', 'html_body', 'headers'];

const lz4Available = async (knex: Knex) => {
  const r = await knex.raw(
    `select 'lz4' = any(enumvals) as ok from pg_settings where name = 'default_toast_compression'`,
  );
  return (r.rows as Array<{ ok: boolean }>)[0]?.ok === true;
};

export async function up(knex: Knex): Promise<void> {
  if (!(await lz4Available(knex))) return;
  await knex.raw(`alter table messages ${COLUMNS.map((c) => `alter column ${c} set compression lz4`).join(', ')}`);
}

export async function down(knex: Knex): Promise<void> {
  if (!(await lz4Available(knex))) return;
  await knex.raw(`alter table messages ${COLUMNS.map((c) => `alter column ${c} set compression default`).join(', ')}`);
}
