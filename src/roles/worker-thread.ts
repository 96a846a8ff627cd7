import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { exitAfterLog, type Logger } from '../core/log.js';
import type { ThreadShare } from './thread-share.js';
import type { FromThread, ToThread } from './worker-thread-messages.js';

export interface WorkerThread {
  /** the thread's metrics (its own registry: delivery counters, batch sizes...), for the process's /metrics */
  metrics: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** a graceful close inside the thread (active jobs finish), then the thread ends */
  close: () => Promise<void>;
}

/**
 * `npm start` with WORKER_THREAD=true (the default): the delivery worker runs in a worker thread with its own
 * connections, so delivery has a core of its own instead of sharing one event loop with SMTP and the API.
 * Resolves once the thread's worker is consuming. A thread that fails, at start or later, ends the process
 * (exit 1), as an uncaught error on the main thread would; the platform restarts it and the jobs it held are
 * re-run after WORKER_LOCK_MS, idempotently.
 */
export async function startWorkerThread(
  log: Logger,
  metricsTimeoutMs: number,
  /** the thread's entry: src/bin/worker-thread.mjs (tests point it at a fixture) */
  entry: URL,
  /** the thread's share of the process's limits (thread-share.ts); none: the thread reads them from the environment */
  share?: ThreadShare,
): Promise<WorkerThread> {
  const thread = new Worker(entry, { workerData: share });
  let closing = false;
  const pending = new Map<number, (m: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  let nextId = 0;
  let failed = false;
  const fail = (why: string, err?: unknown) => {
    // a thread's 'error' is followed by its 'exit' while the log drains before the process exits: one line
    if (failed) return;
    failed = true;
    log.fatal({ event: 'worker_thread.failed', why, err });
    exitAfterLog(log, 1);
  };
  const ready = new Promise<void>((resolve, reject) => {
    thread.on('message', (m: FromThread) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'metrics') {
        pending.get(m.id)?.(m.metrics);
        pending.delete(m.id);
      }
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`worker thread exited with ${code} before it was ready`)));
  });
  await ready;
  thread.on('error', (err) => fail('error', err));
  thread.on('exit', (code) => {
    if (!closing) fail(`exit ${code}`);
  });
  const post = (m: ToThread) => thread.postMessage(m);
  return {
    // a thread that does not answer within metricsTimeoutMs (closing, or busy for that long) adds nothing to the scrape
    metrics: () =>
      new Promise((resolve) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve([]);
        }, metricsTimeoutMs);
        pending.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        if (closing) return;
        post({ type: 'metrics', id });
      }),
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<FromThread>((resolve) =>
        thread.on('message', (m: FromThread) => {
          if (m.type === 'closed') resolve(m);
        }),
      );
      post({ type: 'close' });
      const answer = await Promise.race([closed, once(thread, 'exit').then(() => undefined)]);
      if (answer?.type === 'closed' && answer.error)
        log.error({ event: 'worker_thread.close_failed', err: answer.error });
      await thread.terminate();
    },
  };
}
