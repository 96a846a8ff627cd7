import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('plans', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.integer('default_ttl_minutes').notNullable();
    t.integer('max_ttl_minutes').notNullable();
    t.integer('max_messages_per_mailbox').notNullable();
    t.integer('max_message_bytes').notNullable();
    t.integer('max_active_mailboxes'); // null = unlimited
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('email');
    t.text('plan_id').notNullable().references('plans.id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create unique index users_email_key on users (lower(email)) where email is not null');

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('prefix').notNullable().unique(); // visible part, e.g. mw_3f9a2c1d
    t.binary('salt').notNullable();
    t.binary('key_hash').notNullable(); // sha256(salt || secret)
    t.text('name');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id']);
  });

  await knex.schema.createTable('mailboxes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('address').notNullable(); // always stored lower-case
    // 'hosted': mail arrives through our ingress and is stored here. 'connected': a user's own
    // IMAP/SMTP account, read through the IMAP bridge (settings in connection, secrets by reference).
    t.text('kind').notNullable().defaultTo('hosted');
    t.uuid('owner_user_id').references('users.id').onDelete('CASCADE');
    t.text('plan_id').notNullable().references('plans.id');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('expires_at', { useTz: true }); // null = does not expire (connected mailboxes)
    t.timestamp('deactivated_at', { useTz: true });
    t.text('deactivated_reason'); // expired | deleted
    t.jsonb('connection'); // connected mailboxes only; never holds a clear-text secret
    // counters maintained by the delivery transaction (row lock = ordering + race-free quota)
    t.bigInteger('last_seq').notNullable().defaultTo(0);
    t.integer('message_count').notNullable().defaultTo(0);
    t.bigInteger('used_bytes').notNullable().defaultTo(0);
    t.integer('dropped_count').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`kind in ('hosted', 'connected')`, [], 'mailboxes_kind_check');
  });
  await knex.raw('create unique index mailboxes_address_key on mailboxes (lower(address))');
  await knex.raw(
    'create index mailboxes_owner_idx on mailboxes (owner_user_id, created_at desc) where owner_user_id is not null',
  );
  await knex.raw('create index mailboxes_active_expiry_idx on mailboxes (expires_at) where is_active');
  await knex.raw('create index mailboxes_inactive_idx on mailboxes (deactivated_at) where not is_active');

  await knex.schema.createTable('agent_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('jti').notNullable().unique();
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.uuid('user_id').references('users.id').onDelete('CASCADE'); // who minted it (null: anonymous creation)
    t.text('name');
    t.jsonb('permissions').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.boolean('is_revoked').notNullable().defaultTo(false);
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['mailbox_id']);
  });

  await knex.schema.createTable('messages', (t) => {
    t.text('id').primary(); // ULID
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.bigInteger('seq').notNullable(); // per-mailbox commit order; the stream cursor
    t.text('ingress_id').notNullable(); // idempotency key from the ingress
    t.text('source').notNullable(); // smtp | ses
    t.text('envelope_from');
    t.jsonb('envelope_to').notNullable().defaultTo('[]');
    t.text('message_id_header');
    t.text('from_address');
    t.text('from_name');
    t.jsonb('to_addresses').notNullable().defaultTo('[]');
    t.jsonb('cc_addresses').notNullable().defaultTo('[]');
    t.jsonb('reply_to').notNullable().defaultTo('[]');
    t.text('subject');
    t.text('text_body');
    t.text('html_body');
    t.jsonb('headers').notNullable().defaultTo('[]');
    t.jsonb('attachments').notNullable().defaultTo('[]');
    t.boolean('has_attachments').notNullable().defaultTo(false);
    t.text('parse_error');
    t.timestamp('sent_at', { useTz: true });
    t.binary('raw').notNullable();
    t.integer('size_bytes').notNullable();
    t.boolean('is_read').notNullable().defaultTo(false);
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.timestamp('stored_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['mailbox_id', 'ingress_id']);
    t.unique(['mailbox_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['messages', 'agent_tokens', 'mailboxes', 'api_keys', 'users', 'plans']) {
    await knex.schema.dropTableIfExists(table);
  }
}
