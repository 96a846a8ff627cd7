import type { Knex } from 'knex';

/**
 * Issue 19 (connected mailboxes), as docs/design/connected-outbound-model.md settles it: the account settings of a
 * connected mailbox (IMAP, SMTP, bounce IMAP; passwords sealed by core/secret-box.ts, never in clear), uniqueness
 * split by kind (a hosted address is unique; a connected one per owner, so two tenants may connect the same
 * account and SMTP delivery can only ever match a hosted mailbox), the per-plan limit, and citext for 20 and 21.
 */
const ACCOUNTS = ['imap', 'smtp', 'bounce_imap'] as const;

/** The shipped plans' connected-mailbox limits (null = unlimited). */
const LIMITS: Record<string, number | null> = { anonymous: 0, free: 3, pro: null };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists citext');
  await knex.raw(`create type mailbox_tls_mode as enum ('implicit', 'starttls', 'none')`);
  await knex.schema.alterTable('mailboxes', (t) => {
    for (const a of ACCOUNTS) {
      t.text(`${a}_host`);
      t.integer(`${a}_port`);
      t.specificType(`${a}_tls_mode`, 'mailbox_tls_mode');
      t.text(`${a}_username`);
      t.binary(`${a}_password_encrypted`); // core/secret-box.ts, AAD "mailboxes.<column>:<id>"
    }
    t.text('bounce_imap_folder');
    t.text('bounce_verp_domain');
    t.timestamp('bounce_last_poll_at', { useTz: true });
    t.jsonb('bounce_last_poll_result');
    t.dropColumn('connection');
  });
  await knex.raw(
    `alter table mailboxes add constraint mailboxes_connected_owner_check check (kind = 'hosted' or owner_user_id is not null)`,
  );
  for (const a of ACCOUNTS)
    await knex.raw(
      `alter table mailboxes add constraint mailboxes_${a}_port_check check (${a}_port is null or ${a}_port between 1 and 65535)`,
    );
  // the hosted index keeps the old name: `409 address_taken` (mailboxes/create.ts) keeps recognising it
  await knex.raw('drop index mailboxes_address_key');
  await knex.raw(`create unique index mailboxes_address_key on mailboxes (lower(address)) where kind = 'hosted'`);
  await knex.raw(
    `create unique index mailboxes_connected_address_key on mailboxes (owner_user_id, lower(address)) where kind = 'connected'`,
  );
  await knex.schema.alterTable('plans', (t) => {
    t.integer('max_connected_mailboxes').defaultTo(0); // null = unlimited
  });
  for (const [id, limit] of Object.entries(LIMITS))
    await knex('plans').where({ id }).update({ max_connected_mailboxes: limit });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => t.dropColumn('max_connected_mailboxes'));
  await knex('mailboxes').where({ kind: 'connected' }).delete();
  await knex.raw('drop index mailboxes_connected_address_key');
  await knex.raw('drop index mailboxes_address_key');
  await knex.raw('create unique index mailboxes_address_key on mailboxes (lower(address))');
  await knex.raw('alter table mailboxes drop constraint mailboxes_connected_owner_check');
  await knex.schema.alterTable('mailboxes', (t) => {
    for (const a of ACCOUNTS) {
      t.dropChecks([`mailboxes_${a}_port_check`]);
      for (const c of ['host', 'port', 'tls_mode', 'username', 'password_encrypted']) t.dropColumn(`${a}_${c}`);
    }
    for (const c of ['bounce_imap_folder', 'bounce_verp_domain', 'bounce_last_poll_at', 'bounce_last_poll_result'])
      t.dropColumn(c);
    t.jsonb('connection');
  });
  await knex.raw('drop type mailbox_tls_mode');
  // citext stays: dropping an extension other objects may use is not this migration's to do
}
