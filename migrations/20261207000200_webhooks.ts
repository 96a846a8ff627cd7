import type { Knex } from 'knex';

/**
 * Issue 22 (webhooks and tracking), migration 4 of 4 in docs/design/connected-outbound-model.md.
 * - `mailbox_webhooks`: one endpoint per mailbox; its secrets sealed by core/secret-box.ts
 *   (AAD `mailbox_webhooks.<column>:<id>`), never in clear.
 * - `events`: the append-only ledger of every webhook-able event (`evt_` + ULID id, `seq` grows with creation).
 *   Unique keys make a fact one event however often it is seen: an outbound event is 1–1 with its
 *   `outbound_message_events` row; a received message is one `message.received`; an expiry one `mailbox.expired`.
 * - `webhook_deliveries`: 1–1 with the event it delivers, written in the transaction of the change when the
 *   mailbox's webhook subscribes to the type.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mailbox_webhooks', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('mailbox_id').notNullable().unique().references('mailboxes.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.specificType('event_types', 'text[]'); // null = every type
    t.binary('secret_encrypted').notNullable();
    t.binary('previous_secret_encrypted');
    t.timestamp('previous_secret_expires_at', { useTz: true });
    t.text('status').notNullable().defaultTo('enabled');
    t.text('disabled_reason');
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('failing_since', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table mailbox_webhooks add constraint mailbox_webhooks_status_check
    check (status in ('enabled', 'disabled'))`);
  await knex.raw(`alter table mailbox_webhooks add constraint mailbox_webhooks_disabled_reason_check
    check (disabled_reason is null or disabled_reason in ('gone', 'failing'))`);

  await knex.schema.createTable('events', (t) => {
    t.text('id').primary(); // evt_<ULID>, the webhook-id header
    t.specificType('seq', 'bigint generated always as identity').notNullable().unique();
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.text('mailbox_address').notNullable();
    t.text('type').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('data').notNullable().defaultTo('{}');
    t.bigInteger('outbound_message_event_id').unique().references('outbound_message_events.id').onDelete('CASCADE');
    t.text('message_id'); // a received message (hosted: messages.id; connected: the opaque IMAP id)
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `create unique index events_message_received_key on events (mailbox_id, message_id) where type = 'message.received'`,
  );
  await knex.raw(
    `create unique index events_mailbox_expired_key on events (mailbox_id) where type = 'mailbox.expired'`,
  );
  await knex.raw('create index events_mailbox_seq_idx on events (mailbox_id, seq)');
  await knex.raw('create index events_created_at_idx on events (created_at)');

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('event_id').notNullable().unique().references('events.id').onDelete('CASCADE');
    t.uuid('webhook_id').notNullable().references('mailbox_webhooks.id').onDelete('CASCADE');
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('processing_started_at', { useTz: true });
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    t.integer('last_status_code');
    t.text('last_error');
    t.text('response_excerpt'); // the first 1 KB of the last response
    t.jsonb('attempt_log').notNullable().defaultTo('[]'); // the last 20 attempts
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table webhook_deliveries add constraint webhook_deliveries_status_check
    check (status in ('pending', 'sending', 'delivered', 'failed'))`);
  await knex.raw(
    `create index webhook_deliveries_due_idx on webhook_deliveries (status, next_attempt_at) where status in ('pending', 'sending')`,
  );
  await knex.raw(
    'create index webhook_deliveries_list_idx on webhook_deliveries (webhook_id, created_at desc, id desc)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('events');
  await knex.schema.dropTable('mailbox_webhooks');
}
