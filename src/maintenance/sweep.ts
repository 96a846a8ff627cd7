import type { MaintenanceDeps } from './context.js';
import { publishExpired } from '../pubsub/publish-expired.js';
import { enqueueWebhookDeliveriesSafely } from '../queue/webhook-jobs.js';

export interface SweepResult {
  expired: number;
  published: number;
  ms: number;
}

/**
 * The safety sweep: everything still active past expires_at is deactivated by ONE UPDATE (the
 * partial index on expires_at where is_active bounds its cost by the overdue rows; only their ids
 * come back), then announced. Normally it finds nothing: the per-mailbox jobs got there first.
 */
export async function sweepExpired(deps: MaintenanceDeps): Promise<SweepResult> {
  const started = Date.now();
  const { ids, webhookDeliveries } = await deps.lifecycle.sweepExpiredWithEvents();
  const published = ids.length ? await publishExpired(ids, deps) : 0;
  await enqueueWebhookDeliveriesSafely(
    deps.queues?.webhooks,
    webhookDeliveries,
    deps.log,
    deps.config.redis?.enqueueTimeoutMs ?? 3_000,
  );
  const ms = Date.now() - started;
  if (ids.length) deps.log.info({ event: 'lifecycle.swept', expired: ids.length, published, ms });
  return { expired: ids.length, published, ms };
}
