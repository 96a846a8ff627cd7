import type { Delivery, PipelineDeps } from './context.js';
import { checkQuota } from './steps/check-quota.js';
import { enqueueWebhook } from './steps/enqueue-webhook.js';
import { loadPlan } from './steps/load-plan.js';
import { lookupMailbox } from './steps/lookup-mailbox.js';
import { parseMessage } from './steps/parse-message.js';
import { publishEvent } from './steps/publish-event.js';
import { storeMessage } from './steps/store-message.js';

/** The delivery pipeline for one recipient, in order. Read this function to know the pipeline. */
export async function deliverOne(d: Delivery, deps: PipelineDeps) {
  const found = await lookupMailbox(d, deps);
  const planned = await loadPlan(found, deps);
  const sized = await checkQuota(planned, deps);
  const parsed = await parseMessage(sized, deps);
  const stored = await storeMessage(parsed, deps);
  if (!stored.duplicate)
    deps.metrics.pipelineSeconds.observe({ stage: 'committed' }, (Date.now() - Date.parse(d.job.receivedAt)) / 1000);
  await enqueueWebhook(stored, deps);
  return publishEvent(stored, deps);
}
