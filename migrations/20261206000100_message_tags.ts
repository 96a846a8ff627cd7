import type { Knex } from 'knex';

/**
 * Plus-addressing: mail to `box+tag@domain` is stored in `box@domain` with its tag (null: no tag). The partial
 * index serves `?tag=` on the list and the wait (one mailbox, one tag, newest received first) and stays small
 * while most mail carries no tag.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.text('tag');
  });
  await knex.raw(
    'create index messages_mailbox_tag_idx on messages (mailbox_id, tag, received_at, seq) where tag is not null',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index messages_mailbox_tag_idx');
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('tag');
  });
}
