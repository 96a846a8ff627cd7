import type { Knex } from 'knex';

/**
 * The extraction's JSON columns are compressed with LZ4 too, as the bodies and raw bytes are since
 * 20261202000000_lz4_message_compression: the links of a 50 KB HTML sign-up mail are ~15 KB of JSON that Postgres
 * compressed with pglz on every delivery (issue 23; an A/B in one session measured about 0.07 ms less backend CPU
 * per row with lz4, docs/benchmarks/2026-12-06-html-mail.md). Metadata only: no table rewrite; values stored
 * before keep pglz and stay readable. On a server without lz4 this does nothing.
 */
const COLUMNS = ['links', 'codes', 'attachments', 'attachment_parts'];

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
