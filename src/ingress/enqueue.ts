import { newUlid as ulid } from '../core/ids.js';
import { Unavailable } from '../core/errors.js';
import { JOB } from '../queue/names.js';
import type { Envelope, InboundBatchJob, InboundMessage, InboundSingleJob } from '../queue/payloads.js';
import type { InboundQueues } from '../queue/producers.js';

export interface Received {
  source: InboundMessage['source'];
  envelope: Envelope;
  raw: Buffer;
  remoteAddress?: string | null;
  /** a stable id from the sender (e.g. SNS MessageId) makes redelivery idempotent; default: a new ULID */
  ingressId?: string;
}

const toMessage = (msg: Received): InboundMessage => ({
  ingressId: msg.ingressId ?? ulid(),
  source: msg.source,
  receivedAt: new Date().toISOString(),
  envelope: msg.envelope,
  rawBase64: msg.raw.toString('base64'),
  remoteAddress: msg.remoteAddress ?? null,
});

const unavailable = (cause: unknown) => new Unavailable('could not enqueue inbound message', { cause });
const notAcknowledged = (timeoutMs: number) => new Error(`Redis did not acknowledge within ${timeoutMs} ms`);

/**
 * The only way mail enters the system, into `inbound` or (above WORKER_LARGE_MESSAGE_BYTES) `inbound-large`.
 * Resolves with the ingress id once Redis has acknowledged the job; rejects with Unavailable (SMTP 451,
 * HTTP 503) when it did not within `timeoutMs`.
 */
export async function enqueueInbound(queues: InboundQueues, msg: Received, timeoutMs: number): Promise<string> {
  const queue = queues.inboundFor(msg.raw.length);
  const data: InboundSingleJob = { v: 1, ...toMessage(msg) };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.add(JOB.deliver, data, { jobId: data.ingressId }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(notAcknowledged(timeoutMs)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw unavailable(err);
  } finally {
    clearTimeout(timer);
  }
  return data.ingressId;
}

export interface IngressBatchOptions {
  /** most messages in one job (1: every message is a job of its own, as `enqueueInbound` does) */
  maxMessages: number;
  /** most raw bytes in one job; a message alone may exceed it (it then goes alone) */
  maxBytes: number;
  /** jobs being added at the same time; messages that arrive while this many are in flight wait and go together */
  maxInFlight: number;
}

export type Enqueue = (msg: Received, timeoutMs: number) => Promise<string>;

interface Waiting {
  message: InboundMessage;
  bytes: number;
  resolve: (ingressId: string) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
  /** performance.now() when its time runs out */
  deadline: number;
  timeoutMs: number;
  settled: boolean;
  /** set once sent: tells its batch that this caller has its answer */
  onSettled?: () => void;
}

/**
 * Group enqueue for SMTP ingress: the same contract as `enqueueInbound` (each caller's promise resolves only
 * once Redis acknowledged the job holding its message, or rejects with Unavailable after `timeoutMs`), but
 * messages that arrive while `maxInFlight` adds are in flight are queued together as one batch job
 * (`InboundBatchJob`). A message alone, with nothing in flight, is added at once as a plain job: no wait at
 * low rates. Under load, one job (one BullMQ add, fetch and completion) then carries several messages.
 * A message whose time runs out while it still waits is taken out: it is never queued after its 451.
 * Messages for `inbound-large` are never batched. `onBatch` reports each add's size (metrics).
 */
export function createInboundEnqueuer(queues: InboundQueues, opts: IngressBatchOptions, onBatch: (size: number) => void = () => {}): Enqueue {
  const small = queues.inboundFor(0);
  const waiting: Waiting[] = [];
  let inFlight = 0;

  const send = (batch: Waiting[]) => {
    inFlight++;
    onBatch(batch.length);
    // the slot is free once the add settled, or once every caller of the batch had its answer (its time ran
    // out): an add that hangs while Redis is away holds no slot longer than its callers wait
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inFlight--;
      pump();
    };
    const onSettled = () => { if (batch.every((w) => w.settled)) release(); };
    for (const w of batch) w.onSettled = onSettled;
    const only = batch.length === 1 ? batch[0]!.message : undefined;
    const added = only
      ? small.add(JOB.deliver, { v: 1, ...only } satisfies InboundSingleJob, { jobId: only.ingressId })
      : small.add(JOB.deliver, { v: 2, messages: batch.map((w) => w.message) } satisfies InboundBatchJob, { jobId: ulid() });
    const settle = (w: Waiting, err?: unknown) => {
      if (w.settled) return;
      w.settled = true;
      clearTimeout(w.timer);
      if (err === undefined) w.resolve(w.message.ingressId);
      else w.reject(unavailable(err));
    };
    added.then(
      () => { for (const w of batch) settle(w); },
      (err: unknown) => { for (const w of batch) settle(w, err); },
    ).finally(release);
  };

  // its time ran out: answered 451 now; if it was still waiting, it is taken out and will never be sent
  const expire = (w: Waiting) => {
    if (w.settled) return;
    w.settled = true;
    clearTimeout(w.timer);
    const at = waiting.indexOf(w);
    if (at >= 0) waiting.splice(at, 1);
    w.reject(unavailable(notAcknowledged(w.timeoutMs)));
    w.onSettled?.(); // already sent: it may still land (the sender's retry is then a duplicate, as for a single add)
  };

  const pump = () => {
    while (waiting.length > 0 && inFlight < opts.maxInFlight) {
      // a message whose timer is due in this same turn is not sent at the last moment
      const now = performance.now();
      const due = waiting.filter((w) => w.deadline <= now);
      for (const w of due) expire(w);
      if (waiting.length === 0) return;
      const batch = [waiting.shift()!];
      let bytes = batch[0]!.bytes;
      while (waiting.length > 0 && batch.length < opts.maxMessages && bytes + waiting[0]!.bytes <= opts.maxBytes) {
        const next = waiting.shift()!;
        bytes += next.bytes;
        batch.push(next);
      }
      send(batch);
    }
  };

  return (msg, timeoutMs) => {
    if (opts.maxMessages <= 1 || queues.inboundFor(msg.raw.length) !== small) return enqueueInbound(queues, msg, timeoutMs);
    return new Promise<string>((resolve, reject) => {
      const w: Waiting = {
        message: toMessage(msg),
        bytes: msg.raw.length,
        resolve,
        reject,
        settled: false,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        timer: setTimeout(() => expire(w), timeoutMs),
      };
      waiting.push(w);
      pump();
    });
  };
}
