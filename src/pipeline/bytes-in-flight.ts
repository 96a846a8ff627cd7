import { Gauge } from 'prom-client';
import type { Metrics } from '../ops/metrics.js';
import { rawBytesOf, type InboundJob } from '../queue/payloads.js';
import { createByteBudget, type ByteBudget } from './byte-budget.js';

const IN_FLIGHT = 'mailwright_worker_bytes_in_flight';
const PEAK = 'mailwright_worker_bytes_in_flight_peak';
const WAITING = 'mailwright_worker_jobs_waiting_for_bytes';

const gauge = (registry: Metrics['registry'], name: string, help: string) =>
  (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [registry] });

/**
 * The worker's byte budget (WORKER_MAX_BYTES_IN_FLIGHT, byte-budget.ts) with its gauges: the raw bytes in the
 * decode/parse/store stages now, the most there ever were, and the jobs fetched that wait for room.
 * `onPressure` is the fetch throttle (roles/worker.ts lowers the BullMQ workers' concurrency meanwhile).
 */
export function workerByteBudget(
  maxBytes: number,
  metrics: Pick<Metrics, 'registry'>,
  onPressure: (waiting: boolean) => void,
): ByteBudget {
  const inFlight = gauge(metrics.registry, IN_FLIGHT, 'Raw bytes of the jobs being decoded, parsed and stored');
  const peak = gauge(metrics.registry, PEAK, 'The most raw bytes that were in flight at once in this worker');
  const waiting = gauge(metrics.registry, WAITING, 'Jobs fetched that wait for room in WORKER_MAX_BYTES_IN_FLIGHT');
  const budget: ByteBudget = createByteBudget(maxBytes, {
    onChange: (n) => {
      inFlight.set(n);
      peak.set(budget.peak);
      waiting.set(budget.waiting);
    },
    onPressure: (w) => {
      waiting.set(budget.waiting);
      onPressure(w);
    },
  });
  return budget;
}

/** `process` run only within the budget, holding the job's raw size until it settles */
export function withinBudget<J extends { data: InboundJob }, R>(
  budget: ByteBudget,
  process: (job: J) => Promise<R>,
): (job: J) => Promise<R> {
  return async (job) => {
    const release = await budget.acquire(rawBytesOf(job.data));
    try {
      return await process(job);
    } finally {
      release();
    }
  };
}
