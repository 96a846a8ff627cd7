import type { Logger } from './log.js';

export type Closer = () => Promise<void>;

/** Memoize a closer: calling it twice awaits the same work. */
export const once = (fn: Closer): Closer => {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
};

/**
 * The only place signal handlers are installed (called from src/bin/*). Closers run in order inside
 * a time budget; a second signal exits at once; an uncaught error is logged at fatal and exits.
 */
export function exitOnSignals(log: Logger, budgetMs: number, closers: Closer[]): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ event: 'shutdown.forced', signal });
      process.exit(1);
    }
    stopping = true;
    log.info({ event: 'shutdown.start', signal, budgetMs });
    setTimeout(() => {
      log.error({ event: 'shutdown.timeout', budgetMs });
      process.exit(1);
    }, budgetMs).unref();
    for (const close of closers) {
      await close().catch((err: unknown) => log.error({ event: 'shutdown.close_failed', err }));
    }
    log.info({ event: 'shutdown.done' });
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));
  process.on('uncaughtException', (err) => {
    log.fatal({ event: 'process.uncaught', err });
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ event: 'process.unhandled_rejection', err });
    process.exit(1);
  });
}
