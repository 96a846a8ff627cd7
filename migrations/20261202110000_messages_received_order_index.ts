import type { Knex } from 'knex';

/**
 * The message list is newest received first (`received_at`, then `seq` for ties), and pages by that position:
 * this index serves both the order and the `(received_at, seq) < (…)` cursor condition for one mailbox.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index messages_mailbox_received_idx on messages (mailbox_id, received_at, seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index messages_mailbox_received_idx');
}
