import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** What the main thread and the delivery worker's thread say to each other (src/roles/worker-thread.ts, src/bin/worker-thread-entry.ts). */
export type ToThread = { type: 'close' } | { type: 'metrics'; id: number };
export type FromThread =
  | { type: 'ready' }
  | { type: 'closed'; error?: string }
  | { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] };
