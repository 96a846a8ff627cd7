import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { Publisher } from '../pubsub/events.js';
import type { InboundJob } from '../queue/payloads.js';
import type { Queues } from '../queue/producers.js';
import type { WebhookEnqueue } from '../queue/webhook-jobs.js';
import type { Stores } from '../store/index.js';
import type { Mailbox } from '../store/mailboxes.js';
import type { Plan } from '../store/plans.js';
import type { ParsedMessage } from './parse.js';

export interface PipelineDeps {
  config: Config;
  log: Logger;
  stores: Stores;
  publisher: Publisher;
  metrics: Metrics;
  /** hands a message for a VERP recipient (`bounce+…@`) to the bounce processor (issue 21; wired by roles/worker) */
  bounces?: BounceHandler;
  /** the webhooks queue: a message.received delivery is enqueued after commit (absent: the scheduler adds it) */
  queues?: Pick<Queues, 'webhooks'>;
  /** the delivery worker's enqueue of those deliveries, coalesced per group commit (worker-deps.ts) */
  enqueueWebhooks?: WebhookEnqueue;
}

/** The bounce processor as the pipeline sees it: `matched` (processed, also when seen before) or `rejected`. */
export type BounceHandler = (input: {
  raw: Buffer;
  rcpt: string;
  ingressId: string;
}) => Promise<{ result: 'matched' | 'rejected'; detail: string }>;

/** One recipient of one inbound job. `parse` is memoized per job: the message is parsed at most once. */
export interface Delivery {
  job: InboundJob;
  recipient: string;
  raw: Buffer;
  parse: () => Promise<ParsedMessage>;
}

export type Step<In, Out> = (input: In, deps: PipelineDeps) => Promise<Out>;

/** `tag`: what followed the tag separator in the recipient's local part (null: none) */
export type WithMailbox = Delivery & { mailbox: Mailbox; tag: string | null };

/**
 * The idempotency key of one delivery, stored as the message's ingress_id: the ingress id, plus `+tag` for a
 * tagged recipient, so one job to box+a@ and box+b@ (or box@ and box+a@) stores one message per recipient,
 * while a re-run of the job still finds each one stored.
 */
export const deliveryKey = (d: Pick<WithMailbox, 'job' | 'tag'>) =>
  d.tag === null ? d.job.ingressId : `${d.job.ingressId}+${d.tag}`;
export type WithPlan = WithMailbox & { plan: Plan };
export type WithParsed = WithPlan & { parsed: ParsedMessage };
export type Stored = WithParsed & {
  messageId: string;
  seq: number;
  duplicate: boolean;
  /** a pending message.received webhook delivery written with the message */
  webhookDeliveryId?: string;
};
