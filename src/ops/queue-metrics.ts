import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { within } from '../core/timeout.js';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * Queue depths, read from BullMQ at scrape time (never cached). When Redis does not answer the
 * gauges are left empty for that scrape and `mailwright_queue_scrape_ok` is 0, so /metrics still answers.
 */
export function registerQueueMetrics(registry: Registry, queues: () => Queue[], timeoutMs: number): void {
  const ok = new Gauge({ name: 'mailwright_queue_scrape_ok', help: '1 when queue depths could be read from Redis at this scrape', registers: [registry] });
  new Gauge({
    name: 'mailwright_queue_jobs',
    help: 'Jobs per queue and state (BullMQ getJobCounts at scrape time)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await within(Promise.all(queues().map(async (q) => [q.name, await q.getJobCounts(...STATES)] as const)), timeoutMs);
        for (const [queue, byState] of counts) {
          for (const state of STATES) this.set({ queue, state }, byState[state] ?? 0);
        }
        ok.set(1);
      } catch {
        ok.set(0);
      }
    },
  });
}
