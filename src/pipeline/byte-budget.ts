/**
 * The bytes in flight of one delivery worker (issue 24, item 6): a job is decoded, parsed and stored only once
 * its raw size fits in WORKER_MAX_BYTES_IN_FLIGHT beside what is already in flight, so a burst of large messages
 * holds at most that many raw bytes in the expensive stages (the parse and the store each hold several copies of
 * a message) instead of WORKER_CONCURRENCY of them.
 *
 * - A message larger than the whole budget runs alone: it is admitted when nothing else is in flight, so the
 *   bytes in flight never pass max(budget, the largest single message).
 * - Small mail is not starved by large mail waiting for room: admission is first fit in arrival order, so a
 *   message that fits goes ahead of a larger one that does not. A waiter passed over `maxPassOvers` times stops
 *   further overtaking until it runs (large mail is not starved either).
 * - `onPressure(true)` is called when the jobs waiting for room hold the budget's worth of raw bytes or more, and
 *   `onPressure(false)` when they hold less again: the worker fetches no more jobs from Redis meanwhile, so what it
 *   holds stays under about twice the budget plus one message (each waiting job holds its job data), while small
 *   mail queued behind large mail is still fetched as soon as the waiting pile allows (fetching nothing while
 *   anything waits would hold it behind every large message ahead of it in the queue).
 */
export interface ByteBudget {
  /** wait until `bytes` may be in flight; the returned function gives them back (idempotent) */
  acquire(bytes: number): Promise<() => void>;
  /** bytes in flight now */
  readonly inFlight: number;
  /** the most bytes that were ever in flight at once */
  readonly peak: number;
  /** jobs waiting for room */
  readonly waiting: number;
  /** raw bytes of the jobs waiting for room */
  readonly waitingBytes: number;
}

interface Waiter {
  bytes: number;
  passedOver: number;
  admit: () => void;
}

export function createByteBudget(
  maxBytes: number,
  opts: { maxPassOvers?: number; onPressure?: (waiting: boolean) => void; onChange?: (inFlight: number) => void } = {},
): ByteBudget {
  const maxPassOvers = opts.maxPassOvers ?? 1000;
  let inFlight = 0;
  let peak = 0;
  const queue: Waiter[] = [];
  let waitingBytes = 0;
  let pressured = false;

  const fits = (bytes: number) => inFlight === 0 || inFlight + bytes <= maxBytes;
  const take = (bytes: number) => {
    inFlight += bytes;
    peak = Math.max(peak, inFlight);
    opts.onChange?.(inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight -= bytes;
      opts.onChange?.(inFlight);
      admitWaiting();
    };
  };
  const pressure = () => {
    const now = waitingBytes >= maxBytes;
    if (now === pressured) return;
    pressured = now;
    opts.onPressure?.(now);
  };
  const admitWaiting = () => {
    for (let i = 0; i < queue.length;) {
      const w = queue[i]!;
      if (fits(w.bytes)) {
        queue.splice(i, 1);
        waitingBytes -= w.bytes;
        w.admit();
        continue;
      }
      // a waiter that was overtaken often enough holds everything behind it until it runs
      if (++w.passedOver > maxPassOvers) break;
      i++;
    }
    pressure();
  };

  return {
    acquire(bytes) {
      // a job that fits goes at once, ahead of the waiters (unless one of them may not be overtaken any more)
      if (fits(bytes) && !queue.some((w) => w.passedOver >= maxPassOvers)) {
        for (const w of queue) w.passedOver++;
        return Promise.resolve(take(bytes));
      }
      return new Promise((resolve) => {
        queue.push({ bytes, passedOver: 0, admit: () => resolve(take(bytes)) });
        waitingBytes += bytes;
        pressure();
      });
    },
    get inFlight() {
      return inFlight;
    },
    get peak() {
      return peak;
    },
    get waiting() {
      return queue.length;
    },
    get waitingBytes() {
      return waitingBytes;
    },
  };
}
