import type { DeliveryLimits, DeliveryOutcome } from '../store/message-delivery.js';
import type { NewMessage } from '../store/message-row.js';
import type { MessageStore } from '../store/messages.js';

export interface DeliveryBatcherOptions {
  /** most deliveries written in one transaction */
  maxItems: number;
  /** how long the first delivery of a batch may wait for company (0: only what arrives in the same turn) */
  maxWaitMs: number;
  /** batches written at the same time (each holds one pool connection) */
  maxInFlight: number;
  /** larger messages skip batching (for large messages the batch statement costs Postgres more than it saves; see docs/benchmarks/README.md) */
  maxItemBytes: number;
}

export interface BatchReport {
  size: number;
  ms: number;
  fallback: boolean;
  err?: unknown;
}

export interface DeliveryBatcher {
  /** Same contract as MessageStore.deliver; resolves only after the delivery's transaction committed. */
  deliver: (m: Omit<NewMessage, 'seq'>, limits: DeliveryLimits) => Promise<DeliveryOutcome>;
  /** Write what is waiting and wait for every batch in flight. */
  drain(): Promise<void>;
}

interface Pending {
  message: Omit<NewMessage, 'seq'>;
  limits: DeliveryLimits;
  resolve: (o: DeliveryOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the delivery write. Concurrent job processors hand their delivery to `deliver`;
 * deliveries that arrive while `maxInFlight` batches are being written (or within `maxWaitMs` of the
 * first one) are written together by `store.deliverBatch`: one transaction, one commit, the same
 * per-item statement (idempotency, per-mailbox seq under the row lock, atomic quota all hold per item).
 * A batch of one uses the plain one-statement write. If a batch fails, it was rolled back as a whole,
 * and each of its deliveries is retried alone, so one bad item fails only its own caller.
 */
export function createDeliveryBatcher(
  store: Pick<MessageStore, 'deliver' | 'deliverBatch'>,
  opts: DeliveryBatcherOptions,
  onBatch: (r: BatchReport) => void = () => {},
): DeliveryBatcher {
  const waiting: Pending[] = [];
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;

  const settle = (p: Pending, work: Promise<DeliveryOutcome>) => work.then(p.resolve, p.reject);

  const write = async (batch: Pending[]) => {
    const started = performance.now();
    if (batch.length === 1) {
      await settle(batch[0]!, store.deliver(batch[0]!.message, batch[0]!.limits));
      onBatch({ size: 1, ms: performance.now() - started, fallback: false });
      return;
    }
    try {
      const outcomes = await store.deliverBatch(batch.map(({ message, limits }) => ({ message, limits })));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      onBatch({ size: batch.length, ms: performance.now() - started, fallback: false });
    } catch (err) {
      // nothing of the batch was committed: every item gets its own write and its own outcome
      await Promise.all(batch.map((p) => settle(p, store.deliver(p.message, p.limits))));
      onBatch({ size: batch.length, ms: performance.now() - started, fallback: true, err });
    }
  };

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (immediate) clearImmediate(immediate);
    immediate = undefined;
    while (waiting.length > 0 && inFlight.size < opts.maxInFlight) {
      const batch = waiting.splice(0, opts.maxItems);
      const run: Promise<void> = write(batch).finally(() => {
        inFlight.delete(run);
        // whatever queued up meanwhile has waited long enough
        if (waiting.length > 0) flush();
      });
      inFlight.add(run);
    }
  };

  const schedule = () => {
    if (inFlight.size >= opts.maxInFlight) return; // the next completion flushes
    if (waiting.length >= opts.maxItems) return flush();
    if (timer || immediate) return;
    if (opts.maxWaitMs > 0) timer = setTimeout(flush, opts.maxWaitMs);
    else immediate = setImmediate(flush);
  };

  return {
    deliver(message, limits) {
      if (message.raw.length > opts.maxItemBytes) return store.deliver(message, limits);
      return new Promise<DeliveryOutcome>((resolve, reject) => {
        waiting.push({ message, limits, resolve, reject });
        schedule();
      });
    },
    async drain() {
      while (waiting.length > 0 || inFlight.size > 0) {
        flush();
        await Promise.all([...inFlight]);
      }
    },
  };
}
