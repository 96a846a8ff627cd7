import type { Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { enqueueOutbound, OUTBOUND_SWEEP_SCHEDULER } from '../queue/outbound-jobs.js';
import { JOB } from '../queue/names.js';
import type { OutboundJob } from '../queue/payloads.js';
import type { Db } from '../store/db.js';
import { pruneIdempotencyKeys } from '../store/idempotency.js';
import { overdueOutbound } from '../store/outbound-delivery.js';

/** Rows re-added per sweep run (the next run takes the rest). */
const SWEEP_BATCH = 1000;

/**
 * The sweeper (a BullMQ job scheduler on the outbound queue, every OUTBOUND_SWEEP_EVERY_MS): re-adds the job of
 * every `queued` row due for longer than OUTBOUND_LOCK_MS (the API committed it but Redis refused the job, or a
 * job was lost) and every `sending` row whose claim is older than OUTBOUND_LOCK_MS (its worker died), then prunes
 * idempotency records older than 24 h. Re-adding a row whose job exists is a no-op (job id = row id).
 */
export async function sweepOutbound(deps: {
  db: Db;
  queue: Queue<OutboundJob>;
  config: Pick<Config, 'outbound'>;
  log: Logger;
}): Promise<{ readded: number; pruned: number }> {
  const lock = deps.config.outbound.lockMs;
  const rows = await overdueOutbound(deps.db, { overdueMs: lock, staleMs: lock, limit: SWEEP_BATCH });
  await enqueueOutbound(deps.queue, rows);
  const pruned = await pruneIdempotencyKeys(deps.db);
  if (rows.length > 0 || pruned > 0) deps.log.info({ event: 'outbound.swept', readded: rows.length, pruned });
  return { readded: rows.length, pruned };
}

/** The sweeper's schedule (fixed id: upserted on every worker boot). */
export async function upsertOutboundSweep(queue: Queue<OutboundJob>, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(
    OUTBOUND_SWEEP_SCHEDULER,
    { every: everyMs },
    {
      name: JOB.outboundSweep,
      data: { v: 1, id: '' },
      opts: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    },
  );
}
