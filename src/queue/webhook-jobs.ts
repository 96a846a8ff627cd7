import type { Queue } from 'bullmq';
import type { Logger } from '../core/log.js';
import { within } from '../core/timeout.js';

/** One job per webhook delivery attempt series: job id = the delivery's id (docs/webhooks.md). */
export interface WebhookJob {
  v: 1;
  deliveryId: string;
}

export const WEBHOOK_JOB = { deliver: 'deliver', sweep: 'sweep' } as const;
export const WEBHOOK_SCHEDULER_ID = 'webhooks-sweep';

/**
 * Add the jobs of these deliveries (due now). A job already there with the same id is left as it is, except a
 * delayed one, which is promoted (a manual retry must not wait for the old schedule). Resolves once Redis has them.
 */
export async function enqueueWebhookDeliveries(queue: Queue, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await queue.addBulk(
    ids.map((deliveryId) => ({
      name: WEBHOOK_JOB.deliver,
      data: { v: 1, deliveryId } satisfies WebhookJob,
      opts: { jobId: deliveryId },
    })),
  );
}

/** The same, for a manual retry: a delayed job of this delivery is promoted to run now. */
export async function enqueueWebhookDeliveryNow(queue: Queue, id: string): Promise<void> {
  const existing = await queue.getJob(id);
  if (existing && (await existing.isDelayed())) {
    await existing.promote().catch(() => undefined);
    return;
  }
  if (existing && (await existing.isCompleted().catch(() => false))) await existing.remove().catch(() => undefined);
  await enqueueWebhookDeliveries(queue, [id]);
}

/**
 * After a commit that created deliveries: enqueue them, bounded by ENQUEUE_TIMEOUT_MS. A failure is logged only:
 * the deliveries are in Postgres and the webhooks scheduler re-adds overdue ones (WEBHOOK_OVERDUE_MS).
 */
export async function enqueueWebhookDeliveriesSafely(
  queue: Queue | undefined,
  ids: readonly string[],
  log: Logger,
  timeoutMs: number,
): Promise<boolean> {
  if (!queue || ids.length === 0) return false;
  try {
    await within(enqueueWebhookDeliveries(queue, ids), timeoutMs, `Redis did not answer within ${timeoutMs} ms`);
    return true;
  } catch (err) {
    log.warn({
      event: 'webhook.enqueue_failed',
      deliveries: ids.length,
      err,
      hint: 'the webhooks scheduler re-adds them',
    });
    return false;
  }
}

/** Enqueue deliveries after a commit; resolves true once Redis has them (never rejects). */
export type WebhookEnqueue = (ids: readonly string[]) => Promise<boolean>;

/**
 * {@link enqueueWebhookDeliveriesSafely} for many callers at once: the ids given during one turn of the event loop
 * go to Redis as one `addBulk` (one round trip), and every caller's promise settles with it. The delivery worker
 * uses it: its group commit (pipeline/batcher.ts) stores many messages at once, and each would otherwise add its
 * message.received job alone.
 */
export function coalescedWebhookEnqueue(queue: Queue | undefined, log: Logger, timeoutMs: number): WebhookEnqueue {
  let open: { ids: string[]; settle: Array<(ok: boolean) => void> } | undefined;
  return (ids) => {
    if (!queue || ids.length === 0) return Promise.resolve(false);
    let batch = open;
    if (!batch) {
      const next = { ids: [] as string[], settle: [] as Array<(ok: boolean) => void> };
      open = batch = next;
      setImmediate(() => {
        open = undefined;
        void enqueueWebhookDeliveriesSafely(queue, next.ids, log, timeoutMs).then((ok) => {
          for (const settle of next.settle) settle(ok);
        });
      });
    }
    batch.ids.push(...ids);
    return new Promise<boolean>((resolve) => batch.settle.push(resolve));
  };
}
