import type { Knex } from 'knex';

/**
 * Where each attachment's body lies in `raw` (issue 24: a download re-parsed the whole message, about 0.18 s for a
 * 1,000-part message, once per attachment). One entry per element of `attachments`, in the same order:
 * `{ "start", "end", "encoding", "charset" }` (byte offsets of the encoded body in `raw`, its transfer encoding,
 * the part's charset parameter). NULL: not recorded (rows stored before this column, or a message whose parts
 * could not be matched to the parser's attachments): the download then re-parses the message as before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.jsonb('attachment_parts');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('attachment_parts');
  });
}
