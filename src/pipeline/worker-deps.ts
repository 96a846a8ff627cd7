import { Histogram } from 'prom-client';
import type { PipelineDeps } from './context.js';
import { createDeliveryBatcher, type BatchReport, type DeliveryBatcher } from './batcher.js';
import { cachedMailboxLookup } from './mailbox-cache.js';
import { coalescedWebhookEnqueue } from '../queue/webhook-jobs.js';

const BATCH_METRIC = 'mailwright_delivery_batch_size';

/**
 * The delivery worker's pipeline dependencies: the delivery write goes through the group-commit batcher
 * (batcher.ts) and the recipient lookup through a short positive cache (mailbox-cache.ts). Batch sizes
 * are a histogram; a batch that fell back to one write per item is logged. The message.received webhook jobs of
 * one batch go to Redis together (coalescedWebhookEnqueue).
 */
export function workerPipelineDeps<D extends PipelineDeps>(deps: D): { deps: D; batcher: DeliveryBatcher } {
  const { batch, mailboxCache } = deps.config.worker;
  const registry = deps.metrics.registry;
  const sizes =
    (registry.getSingleMetric(BATCH_METRIC) as Histogram | undefined) ??
    new Histogram({
      name: BATCH_METRIC,
      help: 'Deliveries written per transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    });
  const log = deps.log.child({ component: 'delivery-batcher' });
  const onBatch = (r: BatchReport) => {
    sizes.observe(r.size);
    if (r.fallback) log.warn({ event: 'delivery.batch_fallback', size: r.size, ms: Math.round(r.ms), err: r.err });
  };
  const batcher = createDeliveryBatcher(deps.stores.messages, batch, onBatch);
  const messages = { ...deps.stores.messages, deliver: batcher.deliver };
  const mailboxes = {
    ...deps.stores.mailboxes,
    findByAddress: cachedMailboxLookup(deps.stores.mailboxes, mailboxCache),
  };
  const enqueueWebhooks = coalescedWebhookEnqueue(deps.queues?.webhooks, deps.log, deps.config.redis.enqueueTimeoutMs);
  return { deps: { ...deps, stores: { ...deps.stores, messages, mailboxes }, enqueueWebhooks }, batcher };
}
