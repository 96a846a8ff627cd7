import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Publisher } from '../pubsub/events.js';
import type { Queues } from '../queue/producers.js';
import type { LifecycleStore } from '../store/lifecycle.js';

export interface MaintenanceDeps {
  config: Pick<Config, 'lifecycle'> & Partial<Pick<Config, 'redis'>>;
  log: Logger;
  lifecycle: LifecycleStore;
  publisher: Publisher;
  /** mailbox.expired webhook deliveries are enqueued here after commit (absent: the webhooks scheduler adds them) */
  queues?: Pick<Queues, 'webhooks'>;
}
