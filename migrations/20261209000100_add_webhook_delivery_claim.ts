import type { Knex } from 'knex';

/**
 * The claim of a webhook delivery as one round trip (issue 22's fan-out: it was a transaction of eight statements
 * per attempt). `mw_claim_webhook_delivery(id, max_in_flight, stale_ms)` does what store/webhook-deliveries.ts's
 * claimDelivery did, statement by statement, in the caller's implicit transaction:
 * - lock the delivery's webhook row (FOR UPDATE), then the delivery row: the order disableWebhook uses;
 * - `nothing` when the delivery or its webhook is gone, or the delivery is neither `pending` nor a `sending` older
 *   than `stale_ms` (its worker died); a disabled webhook fails the delivery (`webhook disabled`), also `nothing`;
 * - `not_due` with `next_attempt_at` when that is more than 50 ms ahead;
 * - `busy` when the webhook has `max_in_flight` other live `sending` deliveries (WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT);
 * - else the delivery becomes `sending` (processing_started_at = now): `claimed`, with its `attempts` as they are now
 *   (read under the lock: the caller decides the retry schedule from it).
 * The in-flight count is exact across processes: it is read after the webhook row lock was taken, and a VOLATILE
 * PL/pgSQL function takes a new snapshot for each statement (READ COMMITTED), so it sees every claim committed by
 * the transaction that held the lock before. The partial index makes that count read only the rows being sent,
 * however many deliveries a webhook has kept (WEBHOOK_RETENTION_DAYS).
 *
 * The function makes its transaction commit asynchronously (`synchronous_commit = off`, transaction-local: call it
 * as a statement of its own). A claim lost to a Postgres crash leaves the delivery `pending` (or `sending` until it
 * is stale), and it is attempted again: at least once, as documented; receivers dedupe on `webhook-id`. A
 * synchronous commit waits for a WAL flush, which bounded the fan-out on a busy disk.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index webhook_deliveries_sending_idx on webhook_deliveries (webhook_id) where status = 'sending'`,
  );
  await knex.raw(`
    create function mw_claim_webhook_delivery(p_id uuid, p_max_in_flight int, p_stale_ms int)
    returns table (outcome text, due_at timestamptz, attempts int)
    language plpgsql volatile as $$
    declare
      v_webhook uuid;
      v_enabled boolean;
      v_status text;
      v_started timestamptz;
      v_next timestamptz;
      v_in_flight int;
      v_stale interval := p_stale_ms * interval '1 millisecond';
    begin
      -- the claim commits asynchronously (see above); transaction-local, so only this statement's transaction
      perform set_config('synchronous_commit', 'off', true);
      select d.webhook_id into v_webhook from webhook_deliveries d where d.id = p_id;
      if not found then
        return query select 'nothing'::text, null::timestamptz, null::int;
        return;
      end if;
      select w.status = 'enabled' into v_enabled from mailbox_webhooks w where w.id = v_webhook for update;
      if not found then
        return query select 'nothing'::text, null::timestamptz, null::int;
        return;
      end if;
      select d.status, d.processing_started_at, d.next_attempt_at into v_status, v_started, v_next
      from webhook_deliveries d where d.id = p_id for update;
      if not found or not (v_status = 'pending'
          or (v_status = 'sending' and v_started is not null and v_started <= clock_timestamp() - v_stale)) then
        return query select 'nothing'::text, null::timestamptz, null::int;
        return;
      end if;
      if not v_enabled then
        update webhook_deliveries set status = 'failed', next_attempt_at = null, last_error = 'webhook disabled'
        where id = p_id;
        return query select 'nothing'::text, null::timestamptz, null::int;
        return;
      end if;
      if v_next is not null and v_next > clock_timestamp() + interval '50 milliseconds' then
        return query select 'not_due'::text, v_next, null::int;
        return;
      end if;
      select count(*) into v_in_flight from webhook_deliveries d
      where d.webhook_id = v_webhook and d.status = 'sending' and d.id <> p_id
        and d.processing_started_at > clock_timestamp() - v_stale;
      if v_in_flight >= p_max_in_flight then
        return query select 'busy'::text, null::timestamptz, null::int;
        return;
      end if;
      return query update webhook_deliveries d set status = 'sending', processing_started_at = clock_timestamp()
        where d.id = p_id returning 'claimed'::text, null::timestamptz, d.attempts;
    end
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function mw_claim_webhook_delivery(uuid, int, int)');
  await knex.raw('drop index webhook_deliveries_sending_idx');
}
