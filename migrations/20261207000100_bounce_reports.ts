import type { Knex } from 'knex';

/**
 * Issue 21 (VERP bounces), migration 3 of 4 in docs/design/connected-outbound-model.md: one row per processed
 * delivery status notification. `sha256` (of the DSN's bytes as received, before trace headers) is unique per
 * mailbox, so a re-poll, a poll that died between commit and move, or an SMTP job that ran twice writes one report.
 * Rejected DSNs (no VERP, bad signature, unknown id, other mailbox, too old) leave no row here or anywhere.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bounce_reports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.uuid('outbound_message_id').references('outbound_messages.id').onDelete('SET NULL');
    t.text('source').notNullable(); // imap | smtp
    t.text('dsn_message_id'); // the DSN's own Message-ID header
    t.text('sha256').notNullable();
    t.text('action'); // failed | delayed | delivered | relayed | expanded | complaint | auto_reply
    t.text('status'); // the RFC 3463 code, e.g. 5.1.1
    t.text('diagnostic');
    t.text('remote_mta');
    t.text('class').notNullable(); // hard | soft | delayed | complaint | none
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['mailbox_id', 'sha256']);
  });
  await knex.raw(
    `alter table bounce_reports add constraint bounce_reports_source_check check (source in ('imap', 'smtp'))`,
  );
  await knex.raw(`alter table bounce_reports add constraint bounce_reports_class_check
    check (class in ('hard', 'soft', 'delayed', 'complaint', 'none'))`);
  await knex.raw(
    'create index bounce_reports_mailbox_list_idx on bounce_reports (mailbox_id, received_at desc, id desc)',
  );
  await knex.raw('create index bounce_reports_outbound_idx on bounce_reports (outbound_message_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bounce_reports');
}
