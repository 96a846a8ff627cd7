import { exitAfterLog, type Logger } from './log.js';

export type Closer = () => Promise<void>;

/** Memoize a closer: calling it twice awaits the same work. */
export const once = (fn: Closer): Closer => {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
};

/**
 * A part cannot start for a reason the operator fixes (a port in use): its message is the one line they read,
 * with no stack trace (`Shutdown.start`).
 */
export class StartError extends Error {
  override readonly name = 'StartError';
}

export interface Shutdown {
  /** Register what a part that has just started needs to stop; closers run in reverse order of registration. */
  add(...closers: Closer[]): void;
  /**
   * A part's start. If it fails with a StartError, its message goes to stderr as one line (and to the log, without
   * a stack), the parts started so far are closed and the process exits 1, as the preflight does; the returned
   * promise then never settles. Any other error is rethrown (fatal, with its stack).
   */
  start<T>(starting: Promise<T>): Promise<T>;
  /** Start-up is complete: a signal that arrived before this now runs the closers (it waited for them). */
  ready(): void;
}

/**
 * The only place signal handlers are installed (called from src/bin/* as soon as a logger exists, before
 * any role starts, so a SIGTERM during start-up is never the default "terminate at once"). A signal
 * first waits until start-up is `ready()` (a worker that is still connecting may already be running
 * jobs), then runs the registered closers, last registered first (ingress stops before the worker it
 * feeds, shared connections last), inside a time budget that also bounds the wait for start-up.
 * A second signal exits at once; an uncaught error is logged at fatal and exits. Every other exit waits (a
 * bounded time) until the lines logged before it are written, in order (`exitAfterLog`).
 */
export function exitOnSignals(log: Logger, budgetMs: number): Shutdown {
  const closers: Closer[] = [];
  let markReady!: () => void;
  const started = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ event: 'shutdown.forced', signal });
      process.exit(1);
    }
    stopping = true;
    log.info({ event: 'shutdown.start', signal, budgetMs });
    await closeAll(0);
  };
  const closeAll = async (code: number) => {
    setTimeout(() => {
      log.error({ event: 'shutdown.timeout', budgetMs });
      exitAfterLog(log, 1);
    }, budgetMs).unref();
    await started;
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => log.error({ event: 'shutdown.close_failed', err }));
    }
    log.info({ event: 'shutdown.done' });
    exitAfterLog(log, code);
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));
  process.on('uncaughtException', (err) => {
    log.fatal({ event: 'process.uncaught', err });
    exitAfterLog(log, 1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ event: 'process.unhandled_rejection', err });
    exitAfterLog(log, 1);
  });
  return {
    add: (...more) => {
      closers.push(...more);
    },
    async start(starting) {
      try {
        return await starting;
      } catch (err) {
        if (!(err instanceof StartError)) throw err;
        process.stderr.write(`${err.message}\n`);
        log.error({ event: 'start.failed', reason: err.message });
        // start-up is over: a signal already waiting closes what started (and exits); otherwise this does
        markReady();
        if (!stopping) {
          stopping = true;
          await closeAll(1);
        }
        return new Promise<never>(() => undefined);
      }
    },
    ready: () => markReady(),
  };
}
