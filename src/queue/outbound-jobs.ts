import type { Queue } from 'bullmq';
import { JOB } from './names.js';
import type { OutboundJob } from './payloads.js';

/** BullMQ priority (lower runs first): transactional mail overtakes a broadcast backlog. */
export const STREAM_PRIORITY = { transactional: 1, broadcast: 10 } as const;

export const OUTBOUND_SWEEP_SCHEDULER = 'outbound-sweep';

/**
 * Add one `send` job per outbound message, job id = row id: adding an id that is already queued, delayed or
 * running is a no-op in BullMQ, so the API, a retried request and the sweeper can all add the same row safely.
 */
export async function enqueueOutbound(
  queue: Queue<OutboundJob>,
  rows: ReadonlyArray<{ id: string; stream: keyof typeof STREAM_PRIORITY }>,
): Promise<void> {
  if (rows.length === 0) return;
  await queue.addBulk(
    rows.map((r) => ({
      name: JOB.send,
      data: { v: 1 as const, id: r.id },
      opts: { jobId: r.id, priority: STREAM_PRIORITY[r.stream] },
    })),
  );
}
