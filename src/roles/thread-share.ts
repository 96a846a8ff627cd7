import type { Config } from '../core/config.js';

/**
 * What `npm start` hands each delivery worker thread beside the environment (src/roles/worker-thread.ts passes it
 * as `workerData`). WORKER_MAX_BYTES_IN_FLIGHT bounds the raw bytes of a process, not of a thread: with several
 * delivery threads each gets an equal share, so that the process holds the same at most however many threads run.
 */
export interface ThreadShare {
  /** this thread's part of WORKER_MAX_BYTES_IN_FLIGHT */
  maxBytesInFlight: number;
}

/** Each thread's share of the process's limits, for `threads` delivery threads. */
export function threadShare(config: Config, threads: number): ThreadShare {
  return { maxBytesInFlight: Math.max(1, Math.floor(config.worker.maxBytesInFlight / Math.max(1, threads))) };
}

/** The configuration a delivery thread runs with: the process's, with the thread's share of the limits. */
export function withThreadShare(config: Config, share: ThreadShare | undefined): Config {
  if (!share) return config;
  return Object.freeze({
    ...config,
    worker: Object.freeze({ ...config.worker, maxBytesInFlight: share.maxBytesInFlight }),
  });
}
