import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Db } from '../store/db.js';
import { claimDelivery, overdueDeliveries, purgeOldEvents } from '../store/webhook-deliveries.js';
import { enqueueWebhookDeliveries, WEBHOOK_JOB, type WebhookJob } from '../queue/webhook-jobs.js';
import { attemptDelivery, type AttemptDeps } from './attempt.js';

/**
 * Over the per-endpoint cap, a job waits BUSY_DELAY_MS, doubled for each run the job has had (up to
 * BUSY_DELAY_MAX_MS), plus up to as much again at random, then tries again. The first retries are quick (a busy
 * but healthy endpoint frees a slot within milliseconds); the jobs queued behind a hanging receiver settle at about
 * one claim each per BUSY_DELAY_MAX_MS instead of ten a second, so they cost the other mailboxes' deliveries little.
 */
export const BUSY_DELAY_MS = 100;
export const BUSY_DELAY_MAX_MS = 1_600;

/** The wait before a busy job tries again (pure): `runs` is how often the job has started (BullMQ's attemptsStarted). */
export const busyDelayMs = (runs: number, random: () => number = Math.random): number =>
  Math.min(BUSY_DELAY_MAX_MS, BUSY_DELAY_MS * 2 ** Math.max(0, Math.min(runs - 1, 10))) * (1 + random());
const SWEEP_BATCH = 1_000;

export interface WebhookProcessorDeps extends AttemptDeps {
  config: Pick<Config, 'webhooks'>;
  db: Db;
  log: Logger;
  queue: Queue;
}

/** A `sending` row older than this belongs to an attempt that can no longer be running (its worker died). */
export const staleMs = (config: Pick<Config, 'webhooks'>) => config.webhooks.timeoutMs + config.webhooks.overdueMs;

/**
 * BullMQ processor of the webhooks queue. A `deliver` job claims its delivery (under the endpoint's in-flight cap),
 * makes one attempt, and when another is scheduled moves itself to that time (the schedule lives in Postgres:
 * `next_attempt_at`). A `sweep` job (the scheduler) re-adds overdue deliveries and purges old events.
 */
export function createWebhookProcessor(deps: WebhookProcessorDeps) {
  const later = async (job: Job, token: string | undefined, at: number) => {
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  };
  return async (job: Job<WebhookJob>, token?: string): Promise<string> => {
    if (job.name === WEBHOOK_JOB.sweep) return sweepWebhooks(deps);
    if (job.data.v !== 1) throw new UnrecoverableError(`unknown webhook job version ${String(job.data.v)}`);
    const claim = await claimDelivery(deps.db, job.data.deliveryId, {
      maxInFlight: deps.config.webhooks.maxInFlightPerEndpoint,
      staleMs: staleMs(deps.config),
    });
    switch (claim.kind) {
      case 'nothing':
        return 'nothing_to_do';
      case 'busy':
        deps.metrics.deferred.inc();
        return later(job, token, Date.now() + busyDelayMs(job.attemptsStarted));
      case 'not_due':
        return later(job, token, claim.at.getTime());
      case 'claimed': {
        const r = await attemptDelivery(deps, claim);
        if (r.outcome === 'retry' && r.nextAttemptAt) return later(job, token, r.nextAttemptAt.getTime());
        return r.outcome;
      }
    }
  };
}

/** The scheduler's run: jobs for deliveries overdue by WEBHOOK_OVERDUE_MS (lost jobs, dead workers); retention. */
export async function sweepWebhooks(
  deps: Pick<WebhookProcessorDeps, 'config' | 'db' | 'log' | 'queue'>,
): Promise<string> {
  const ids = await overdueDeliveries(deps.db, deps.config.webhooks.overdueMs, staleMs(deps.config), SWEEP_BATCH);
  await enqueueWebhookDeliveries(deps.queue, ids);
  let purged = 0;
  for (let n = SWEEP_BATCH; n === SWEEP_BATCH; purged += n)
    n = await purgeOldEvents(deps.db, deps.config.webhooks.retentionDays, SWEEP_BATCH);
  if (ids.length || purged) deps.log.info({ event: 'webhook.swept', requeued: ids.length, purgedEvents: purged });
  return `requeued ${ids.length}, purged ${purged}`;
}
