import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { Publisher } from '../pubsub/events.js';
import type { InboundJob } from '../queue/payloads.js';
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
}

/** One recipient of one inbound job. `parse` is memoized per job: the message is parsed at most once. */
export interface Delivery {
  job: InboundJob;
  recipient: string;
  raw: Buffer;
  parse: () => Promise<ParsedMessage>;
}

export type Step<In, Out> = (input: In, deps: PipelineDeps) => Promise<Out>;

export type WithMailbox = Delivery & { mailbox: Mailbox };
export type WithPlan = WithMailbox & { plan: Plan };
export type WithParsed = WithPlan & { parsed: ParsedMessage };
export type Stored = WithParsed & { messageId: string; seq: number; duplicate: boolean };
