import { newUlid as ulid } from '../core/ids.js';
import { Unavailable } from '../core/errors.js';
import { JOB } from '../queue/names.js';
import type { Envelope, InboundJob } from '../queue/payloads.js';
import type { InboundQueues } from '../queue/producers.js';

export interface Received {
  source: InboundJob['source'];
  envelope: Envelope;
  raw: Buffer;
  remoteAddress?: string | null;
  /** a stable id from the sender (e.g. SNS MessageId) makes redelivery idempotent; default: a new ULID */
  ingressId?: string;
}

/**
 * The only way mail enters the system, into `inbound` or (above WORKER_LARGE_MESSAGE_BYTES) `inbound-large`.
 * Resolves with the ingress id once Redis has acknowledged the job; rejects with Unavailable (SMTP 451,
 * HTTP 503) when it did not within `timeoutMs`.
 */
export async function enqueueInbound(queues: InboundQueues, msg: Received, timeoutMs: number): Promise<string> {
  const queue = queues.inboundFor(msg.raw.length);
  const ingressId = msg.ingressId ?? ulid();
  const data: InboundJob = {
    v: 1,
    ingressId,
    source: msg.source,
    receivedAt: new Date().toISOString(),
    envelope: msg.envelope,
    rawBase64: msg.raw.toString('base64'),
    remoteAddress: msg.remoteAddress ?? null,
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.add(JOB.deliver, data, { jobId: ingressId }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new Unavailable('could not enqueue inbound message', { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return ingressId;
}
