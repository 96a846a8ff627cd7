import { enqueueWebhookDeliveriesSafely } from '../../queue/webhook-jobs.js';
import type { PipelineDeps, Stored } from '../context.js';

/**
 * After commit: when the mailbox's webhook subscribed to message.received, the delivery written with the message
 * goes to the webhooks queue. Never a delivery failure: if Redis refuses, the webhooks scheduler re-adds it.
 */
export async function enqueueWebhook(d: Stored, deps: PipelineDeps): Promise<void> {
  if (!d.webhookDeliveryId) return;
  if (deps.enqueueWebhooks) {
    await deps.enqueueWebhooks([d.webhookDeliveryId]);
    return;
  }
  await enqueueWebhookDeliveriesSafely(
    deps.queues?.webhooks,
    [d.webhookDeliveryId],
    deps.log,
    deps.config.redis.enqueueTimeoutMs,
  );
}
