import type { Job, Processor, Worker } from 'bullmq';

/**
 * One queue consumed by this process: its current BullMQ Worker (replaced when it stalls), the jobs of that queue
 * in flight here and when the last one was taken.
 */
export interface Consumer<T = unknown, R = unknown> {
  readonly queue: string;
  worker: Worker<T, R>;
  inFlight: number;
  lastTakenAt: number;
  /** close the current Worker without waiting for it, open a new one and start it */
  restart(): void;
}

/**
 * A consumer whose Worker `open` builds around a processor that counts jobs in flight (whichever Worker of the
 * consumer took them: one replaced by a restart finishes its jobs). `open` attaches the listeners; `start` runs it.
 */
export function consumer<T, R>(
  queue: string,
  processor: Processor<T, R>,
  open: (processor: Processor<T, R>) => Worker<T, R>,
  start: (worker: Worker<T, R>) => void,
): Consumer<T, R> {
  const counted: Processor<T, R> = async (job: Job<T, R>, token) => {
    c.inFlight++;
    c.lastTakenAt = Date.now();
    try {
      return await processor(job, token);
    } finally {
      c.inFlight--;
    }
  };
  const c: Consumer<T, R> = {
    queue,
    worker: open(counted),
    inFlight: 0,
    lastTakenAt: Date.now(),
    restart() {
      const old = c.worker;
      // force: no wait for its main loop, which is what may be stuck; its jobs in flight (none when the watchdog
      // restarts it) would go back to waiting when their lock expires
      void old.close(true).catch(() => undefined);
      c.worker = open(counted);
      c.lastTakenAt = Date.now();
      start(c.worker);
    },
  };
  return c;
}

export interface StallWatchdogOptions<T, R> {
  /** WORKER_STALL_RESTART_MS: jobs waiting and none taken for this long (0: no watchdog) */
  stallMs: number;
  /** jobs a Worker could take now in `queue` (waiting, prioritized); rejects when Redis cannot say */
  takeable(queue: string): Promise<number>;
  onRestart(c: Consumer<T, R>, details: { idleMs: number; waiting: number }): void;
}

/**
 * A per-queue watchdog: a consumer that is not paused, has no job in flight, has jobs waiting in its queue, and took
 * none for `stallMs` is restarted (its Worker closed without waiting, a new one opened). It covers a BullMQ Worker
 * whose fetch loop waits on a Redis command that never settles (a cluster master killed under it: docs/scaling.md),
 * whatever the command, so no acknowledged message waits for ever. While Redis cannot answer the count, nothing is
 * restarted. Checked four times per `stallMs`.
 */
export function watchStalls<T, R>(
  consumers: Array<Consumer<T, R>>,
  opts: StallWatchdogOptions<T, R>,
): { stop(): void } {
  if (!opts.stallMs) return { stop: () => undefined };
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      for (const c of consumers) {
        const w = c.worker;
        const idleMs = Date.now() - c.lastTakenAt;
        if (idleMs < opts.stallMs || c.inFlight > 0 || w.isPaused() || w.closing) continue;
        const waiting = await opts.takeable(c.queue).catch(() => 0);
        // the count took time: a job may have been taken meanwhile
        if (waiting > 0 && c.worker === w && c.inFlight === 0 && Date.now() - c.lastTakenAt >= opts.stallMs) {
          opts.onRestart(c, { idleMs: Date.now() - c.lastTakenAt, waiting });
          c.restart();
        }
      }
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), Math.max(50, Math.floor(opts.stallMs / 4)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Close a consumer's Worker, waiting for its jobs in flight; once it has none, it gets `idleMs` more to finish
 * closing, after which it is left behind (a fetch loop stuck on a command that never settles would otherwise keep
 * the shutdown waiting until SHUTDOWN_BUDGET_MS), its blocking connection dropped. Resolves `false` when it was left
 * behind.
 */
export async function closeConsumer<T, R>(c: Consumer<T, R>, idleMs: number): Promise<boolean> {
  let closed = false;
  const done = () => {
    closed = true;
  };
  const closing = c.worker.close().then(done, done);
  let idleSince: number | undefined;
  while (!closed) {
    const now = Date.now();
    idleSince = c.inFlight > 0 ? undefined : (idleSince ?? now);
    if (idleSince !== undefined && now - idleSince >= idleMs) {
      // its blocking connection closed now, as closing (BullMQ stops reviving it): left open, a cluster client would
      // keep reconnecting (and the process alive). The shared connection is the role's to close.
      void c.worker.backend.close(true).catch(() => undefined);
      return false;
    }
    await Promise.race([closing, new Promise((r) => setTimeout(r, Math.min(100, idleMs)))]);
  }
  return true;
}
