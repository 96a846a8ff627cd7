import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Publisher } from '../pubsub/events.js';
import type { LifecycleStore } from '../store/lifecycle.js';

export interface MaintenanceDeps {
  config: Pick<Config, 'lifecycle'>;
  log: Logger;
  lifecycle: LifecycleStore;
  publisher: Publisher;
}
