import { Counter, Histogram, type Registry } from 'prom-client';

/** The bounce metrics of a process, registered once per registry (the poll, the CLI and the pipeline share them). */
export interface BounceMetrics {
  polls: Counter<'result'>;
  fetched: Counter;
  matched: Counter<'class' | 'source'>;
  rejected: Counter<'reason' | 'source'>;
  errors: Counter<'source'>;
  pollSeconds: Histogram;
}

const made = new WeakMap<Registry, BounceMetrics>();

export function bounceMetrics(registry: Registry): BounceMetrics {
  const existing = made.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: BounceMetrics = {
    polls: new Counter({
      name: 'mailwright_bounce_polls_total',
      help: 'Bounce inbox polls, by result (ok, error, locked: another poll of the mailbox was running)',
      labelNames: ['result'],
      registers,
    }),
    fetched: new Counter({
      name: 'mailwright_bounce_fetched_total',
      help: 'Messages fetched from bounce inboxes',
      registers,
    }),
    matched: new Counter({
      name: 'mailwright_bounce_matched_total',
      help: 'DSNs whose VERP address verified and matched an outbound message, by class and source',
      labelNames: ['class', 'source'],
      registers,
    }),
    rejected: new Counter({
      name: 'mailwright_bounce_rejected_total',
      help: 'Messages that changed nothing (no VERP, bad signature, unknown id, other mailbox, too old, too large), by reason and source',
      labelNames: ['reason', 'source'],
      registers,
    }),
    errors: new Counter({
      name: 'mailwright_bounce_errors_total',
      help: 'DSNs left for the next poll or job retry after a transient error (database down)',
      labelNames: ['source'],
      registers,
    }),
    pollSeconds: new Histogram({
      name: 'mailwright_bounce_poll_seconds',
      help: 'Duration of one bounce inbox poll',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
  };
  made.set(registry, m);
  return m;
}
