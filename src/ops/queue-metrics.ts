import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { within } from '../core/timeout.js';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

type Depths = ReadonlyArray<readonly [string, Record<string, number>]>;

/**
 * Queue depths, read from BullMQ at scrape time (never cached). When Redis does not answer the
 * gauges are left empty for that scrape and `mailwright_queue_scrape_ok` is 0, so /metrics still answers.
 * Both gauges read the same result of the same scrape: prom-client collects every metric at once, so a gauge
 * set as a side effect of the other's collect showed the previous scrape (0 on the first scrape after start).
 */
export function registerQueueMetrics(registry: Registry, queues: () => Queue[], timeoutMs: number): void {
  let reading: Promise<Depths | undefined> | undefined;
  // one read per scrape: the first collect starts it, the other joins it; it is forgotten once settled
  const read = () =>
    (reading ??= within(
      Promise.all(queues().map(async (q) => [q.name, await q.getJobCounts(...STATES)] as const)),
      timeoutMs,
    )
      .then(
        (depths): Depths | undefined => depths,
        () => undefined,
      )
      .finally(() => {
        reading = undefined;
      }));
  new Gauge({
    name: 'mailwright_queue_scrape_ok',
    help: '1 when queue depths could be read from Redis at this scrape',
    registers: [registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mailwright_queue_jobs',
    help: 'Jobs per queue and state (BullMQ getJobCounts at scrape time)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, byState] of (await read()) ?? []) {
        for (const state of STATES) this.set({ queue, state }, byState[state] ?? 0);
      }
    },
  });
}
