import type { Knex } from 'knex';

/**
 * The rolling 24 h send quota as a counter (issue 20): `send_quota_buckets` holds, per scope (`owner:<id>`,
 * `mailbox:<id>`, `token:<jti>`) and minute, how many recipients were accepted. A send request adds its count to
 * the current minute and sums the last 1,440 minutes, under the scope's advisory lock (store/send-quota.ts), instead
 * of counting every `outbound_messages` row of the last 24 hours: that count grew with the window and, serialised
 * per owner, made `POST …/outbound` queue at 100 requests/s (docs/benchmarks/2026-12-06-outbound.md). The buckets of
 * the last 24 hours are filled from the rows already accepted, so the quota carries over the upgrade.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('send_quota_buckets', (t) => {
    t.text('scope').notNullable();
    t.timestamp('bucket', { useTz: true }).notNullable();
    t.integer('n').notNullable();
    t.primary(['scope', 'bucket']);
  });
  await knex.raw(`
    insert into send_quota_buckets (scope, bucket, n)
    select scope, bucket, count(*)::int from (
      select case when owner_user_id is not null then 'owner:' || owner_user_id::text
                  else 'mailbox:' || mailbox_id::text end as scope,
             date_trunc('minute', created_at) as bucket
        from outbound_messages
       where created_at > now() - interval '24 hours' and status <> 'suppressed'
      union all
      select 'token:' || token_jti, date_trunc('minute', created_at)
        from outbound_messages
       where created_at > now() - interval '24 hours' and status <> 'suppressed' and token_jti is not null
    ) accepted
    group by scope, bucket`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('send_quota_buckets');
}
