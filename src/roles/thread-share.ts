import type { Config } from '../core/config.js';

/**
 * WORKER_CONCURRENCY, WORKER_LARGE_CONCURRENCY and WORKER_MAX_BYTES_IN_FLIGHT are the process's, not a thread's: with
 * n delivery threads (`npm start`, WORKER_THREADS) each gets its share (rounded up, at least one job; a message
 * larger than a thread's byte share runs alone), so that the jobs and raw bytes in flight of the process stay what
 * the settings say however many threads run. The process's configuration is left unchanged.
 */
export function shareBetweenThreads(c: Config, n: number): Config {
  if (n <= 1) return c;
  return Object.freeze({
    ...c,
    worker: Object.freeze({
      ...c.worker,
      concurrency: Math.ceil(c.worker.concurrency / n),
      largeConcurrency: Math.ceil(c.worker.largeConcurrency / n),
      maxBytesInFlight: Math.ceil(c.worker.maxBytesInFlight / n),
    }),
  });
}
