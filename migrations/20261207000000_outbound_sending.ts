import type { Knex } from 'knex';

/**
 * Issue 20 (outbound sending), as docs/design/connected-outbound-model.md settles it (migration 2 of 4): one
 * `outbound_sends` row per accepted request (the content, stored once, with its attachments), one
 * `outbound_messages` row per distinct recipient (the unit the worker claims, retries and reports), their
 * append-only `outbound_message_events`, per-mailbox `suppressions`, `idempotency_keys` per credential, and the
 * daily send quotas of plans and agent tokens. Bounces (21) and tracking (22) fill the `bounce_*`, `opened_at` and
 * `clicked_at` columns; they add no column here.
 */
const SEND_LIMITS: Record<string, number | null> = { anonymous: 0, free: 200, pro: 20000 };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists citext');

  await knex.schema.createTable('outbound_sends', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.text('message_id').notNullable(); // `<{send id}@{domain}>`, shared by every copy of this send
    t.timestamp('date', { useTz: true }).notNullable().defaultTo(knex.fn.now()); // the Date header, fixed per send
    t.text('from_name');
    t.text('reply_to');
    t.jsonb('to_addresses').notNullable().defaultTo('[]'); // [{address, name}] as the To header shows them
    t.jsonb('cc_addresses').notNullable().defaultTo('[]');
    t.text('subject').notNullable();
    t.text('text_body');
    t.text('html_body');
    t.jsonb('headers').notNullable().defaultTo('{}');
    t.jsonb('attachments').notNullable().defaultTo('[]'); // metadata: [{index, filename, content_type, size}]
    t.text('stream').notNullable().defaultTo('transactional');
    t.boolean('track_opens').notNullable().defaultTo(false);
    t.boolean('track_clicks').notNullable().defaultTo(false);
    t.text('token_jti'); // the agent token that sent it (no FK: tokens are deleted, sends are kept)
    t.uuid('api_key_id').references('api_keys.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    `alter table outbound_sends add constraint outbound_sends_stream_check check (stream in ('transactional', 'broadcast'))`,
  );

  await knex.schema.createTable('outbound_attachments', (t) => {
    t.uuid('send_id').notNullable().references('outbound_sends.id').onDelete('CASCADE');
    t.integer('index').notNullable();
    t.text('filename');
    t.text('content_type').notNullable();
    t.integer('size').notNullable();
    t.binary('content').notNullable();
    t.primary(['send_id', 'index']);
  });

  await knex.schema.createTable('outbound_messages', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('send_id').notNullable().references('outbound_sends.id').onDelete('CASCADE');
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.uuid('owner_user_id').references('users.id').onDelete('SET NULL'); // the quota's owner (null: per mailbox)
    t.specificType('recipient_email', 'citext').notNullable();
    t.text('recipient_name');
    t.text('recipient_type').notNullable(); // to | cc | bcc
    t.integer('position').notNullable(); // order within the send
    t.text('subject').notNullable();
    t.text('stream').notNullable().defaultTo('transactional');
    t.text('status').notNullable().defaultTo('queued');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_retry_at', { useTz: true });
    t.timestamp('processing_started_at', { useTz: true });
    t.specificType('envelope_from', 'citext');
    t.text('message_id').notNullable();
    t.text('smtp_response');
    t.text('error');
    t.boolean('track_opens').notNullable().defaultTo(false);
    t.boolean('track_clicks').notNullable().defaultTo(false);
    t.text('token_jti');
    t.uuid('api_key_id').references('api_keys.id').onDelete('SET NULL');
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('failed_at', { useTz: true });
    t.text('bounce_type'); // hard | soft (issue 21)
    t.text('bounce_diagnostic');
    t.timestamp('bounced_at', { useTz: true });
    t.timestamp('opened_at', { useTz: true }); // issue 22
    t.timestamp('clicked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['send_id', 'recipient_email']);
  });
  await knex.raw(`alter table outbound_messages add constraint outbound_messages_status_check
    check (status in ('queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed'))`);
  await knex.raw(`alter table outbound_messages add constraint outbound_messages_recipient_type_check
    check (recipient_type in ('to', 'cc', 'bcc'))`);
  await knex.raw(`alter table outbound_messages add constraint outbound_messages_bounce_type_check
    check (bounce_type is null or bounce_type in ('hard', 'soft'))`);
  // the sweeper: overdue queued rows and stale sending ones
  await knex.raw(
    `create index outbound_messages_due_idx on outbound_messages (status, next_retry_at) where status in ('queued', 'sending')`,
  );
  // the list, newest first, with a cursor
  await knex.raw(
    `create index outbound_messages_mailbox_list_idx on outbound_messages (mailbox_id, created_at desc, id desc)`,
  );
  // the rolling 24 h quotas (accepted recipients: suppressed ones do not count)
  await knex.raw(
    `create index outbound_messages_owner_quota_idx on outbound_messages (owner_user_id, created_at) where status <> 'suppressed'`,
  );
  await knex.raw(
    `create index outbound_messages_token_quota_idx on outbound_messages (token_jti, created_at) where token_jti is not null and status <> 'suppressed'`,
  );

  await knex.schema.createTable('outbound_message_events', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('outbound_message_id').notNullable().references('outbound_messages.id').onDelete('CASCADE');
    t.text('type').notNullable(); // queued sending deferred sent failed suppressed bounced delivery_delayed opened clicked complained
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.index(['outbound_message_id', 'id']);
  });
  // append-only: no UPDATE ever; DELETE only by the cascade from outbound_messages (a nested trigger)
  await knex.raw(`
    create function outbound_message_events_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' or pg_trigger_depth() < 2 then
        raise exception 'outbound_message_events is append-only (%)', tg_op using errcode = '55000';
      end if;
      return old;
    end $$`);
  await knex.raw(`create trigger outbound_message_events_append_only before update or delete on outbound_message_events
    for each row execute function outbound_message_events_append_only()`);

  await knex.schema.createTable('suppressions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.specificType('recipient_email', 'citext').notNullable();
    t.text('reason').notNullable(); // hard_bounce | complaint | manual
    t.uuid('source_message_id').references('outbound_messages.id').onDelete('SET NULL');
    t.text('notes');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['mailbox_id', 'recipient_email']);
  });
  await knex.raw(`alter table suppressions add constraint suppressions_reason_check
    check (reason in ('hard_bounce', 'complaint', 'manual'))`);

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('credential_id').notNullable(); // a token's jti or an API key's id
    t.text('idempotency_key').notNullable();
    t.text('request_hash').notNullable(); // sha256 of method, path and canonical JSON body
    t.text('state').notNullable().defaultTo('in_progress'); // in_progress | completed
    t.integer('response_status');
    t.jsonb('response_body');
    t.jsonb('message_ids');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.unique(['credential_id', 'idempotency_key']);
    t.index(['created_at']);
  });
  await knex.raw(`alter table idempotency_keys add constraint idempotency_keys_state_check
    check (state in ('in_progress', 'completed'))`);

  await knex.schema.alterTable('plans', (t) => {
    t.integer('max_sends_per_day').defaultTo(0); // null = unlimited
  });
  for (const [id, limit] of Object.entries(SEND_LIMITS))
    await knex('plans').where({ id }).update({ max_sends_per_day: limit });
  await knex.schema.alterTable('agent_tokens', (t) => {
    t.integer('max_sends_per_day'); // a token's own daily cap (null: only the plan's)
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_tokens', (t) => t.dropColumn('max_sends_per_day'));
  await knex.schema.alterTable('plans', (t) => t.dropColumn('max_sends_per_day'));
  await knex.schema.dropTable('idempotency_keys');
  await knex.schema.dropTable('suppressions');
  await knex.raw('drop trigger outbound_message_events_append_only on outbound_message_events');
  await knex.schema.dropTable('outbound_message_events');
  await knex.raw('drop function outbound_message_events_append_only()');
  await knex.schema.dropTable('outbound_messages');
  await knex.schema.dropTable('outbound_attachments');
  await knex.schema.dropTable('outbound_sends');
}
