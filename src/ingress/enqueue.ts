import type { Queue } from 'bullmq';
import { newUlid as ulid } from '../core/ids.js';
import { Unavailable } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { JOB } from '../queue/names.js';
import { encodeRaw, type Envelope, type InboundJob } from '../queue/payloads.js';
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
 * The only way mail enters the system, into `inbound` (or its shard, INBOUND_SHARDS) or, above
 * WORKER_LARGE_MESSAGE_BYTES, `inbound-large`. With shards, a message to mailboxes of several shards is one job
 * per shard, each with that shard's recipients and the same ingress id (the store is idempotent per ingress id and
 * mailbox). Resolves with the ingress id once Redis has acknowledged every job; rejects with Unavailable (SMTP 451,
 * HTTP 503) when it did not within `timeoutMs`. A job that was not acknowledged in time, or whose sibling failed,
 * is withdrawn (`withdrawLate`): the caller was told to try again, so the first copy must not be delivered as well.
 */
export async function enqueueInbound(
  queues: InboundQueues,
  msg: Received,
  timeoutMs: number,
  log?: Logger,
): Promise<string> {
  const ingressId = msg.ingressId ?? ulid();
  const common = {
    v: 1 as const,
    ingressId,
    source: msg.source,
    receivedAt: new Date().toISOString(),
    ...encodeRaw(msg.raw),
    remoteAddress: msg.remoteAddress ?? null,
  };
  const adds = queues.inboundPlan(msg.raw.length, msg.envelope.to).map(({ queue, to }) => {
    const data: InboundJob = { ...common, envelope: { from: msg.envelope.from, to } };
    return { queue, adding: queue.add(JOB.deliver, data, { jobId: ingressId }) };
  });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    await Promise.race([
      Promise.all(adds.map((a) => a.adding)),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`Redis did not acknowledge within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } catch (err) {
    // a sender-supplied id (SES) is idempotent on redelivery: nothing to withdraw
    if ((timedOut || adds.length > 1) && !msg.ingressId)
      for (const a of adds) withdrawLate(a.queue, ingressId, a.adding, log);
    throw new Unavailable('could not enqueue inbound message', { cause: err });
  } finally {
    clearTimeout(timer);
  }
  return ingressId;
}

/**
 * A Redis that stalls (a long command, a fork, a network hold) still executes an add it has received, after
 * the client got its 451; the sender's retry would then be stored a second time. So, after a timeout:
 * - a remove goes out at once on the same connection, behind the add: Redis runs the two in order, and the job
 *   is gone before a worker can take it (unless one fetches between the two commands);
 * - when the add finally answers, the job is looked at again: still queued → removed; taken by a worker
 *   already → logged as `ingress.enqueue_late` (that message may be stored twice).
 * Best effort by nature: with Redis gone, neither the add nor the removes get through.
 */
function withdrawLate(queue: Queue, jobId: string, adding: Promise<unknown>, log?: Logger) {
  queue.remove(jobId).catch(() => {
    /* Redis unreachable: the add failed too, or is checked again below */
  });
  adding
    .then(async () => {
      const state = await queue.getJobState(jobId);
      if (state === 'unknown') return log?.info({ event: 'ingress.enqueue_withdrawn', jobId });
      if (
        ['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(state) &&
        (await queue.remove(jobId)) === 1
      ) {
        return log?.info({ event: 'ingress.enqueue_withdrawn', jobId, late: true });
      }
      log?.warn({
        event: 'ingress.enqueue_late',
        jobId,
        state,
        hint: 'answered 451 but delivered: the sender may retry, and the message be stored twice',
      });
    })
    .catch(() => {
      /* the add failed: nothing was queued */
    });
}
