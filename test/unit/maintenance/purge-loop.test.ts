import test from 'ava';
import { pino } from 'pino';
import type { Job } from 'bullmq';
import type { MaintenanceDeps } from '../../../src/maintenance/context.js';
import { createMaintenanceProcessor } from '../../../src/maintenance/processor.js';
import { purgeInactive } from '../../../src/maintenance/purge.js';
import type { LifecycleStore } from '../../../src/store/lifecycle.js';

/** In-memory stand-in for the lifecycle store: old inactive mailboxes with message counts. */
function fakeLifecycle(mailboxes: Map<string, number>, opts: { undeletable?: Set<string> } = {}) {
  const calls: string[] = [];
  const store: LifecycleStore = {
    expireOne: async () => undefined,
    sweepExpired: async () => {
      calls.push('sweep');
      return [];
    },
    sweepExpiredWithEvents: async () => {
      calls.push('sweep');
      return { ids: [], webhookDeliveries: [] };
    },
    expiryOf: async () => undefined,
    setTtlFromCreation: async () => undefined,
    async purgeCandidates(_retention, limit) {
      calls.push('candidates');
      return [...mailboxes.keys()].slice(0, limit);
    },
    async deleteMessagesOf(ids, limit) {
      calls.push('messages');
      let left = limit;
      for (const id of ids) {
        const n = Math.min(left, mailboxes.get(id) ?? 0);
        mailboxes.set(id, (mailboxes.get(id) ?? 0) - n);
        left -= n;
      }
      return limit - left;
    },
    async deleteMailboxes(ids) {
      calls.push('mailboxes');
      let n = 0;
      for (const id of ids) if (!opts.undeletable?.has(id) && mailboxes.delete(id)) n++;
      return n;
    },
  };
  return { store, calls };
}

const depsWith = (lifecycle: LifecycleStore, batch: number): MaintenanceDeps => ({
  config: {
    lifecycle: {
      sweepIntervalMs: 1000,
      purgeIntervalMs: 1000,
      retentionMs: 0,
      purgeBatchSize: batch,
      maintenanceConcurrency: 1,
      maintenanceWorker: true,
    },
  },
  log: pino({ level: 'silent' }),
  lifecycle,
  publisher: { publish: async () => undefined },
});

test('purge keeps taking batches until every old mailbox and message is gone', async (t) => {
  const boxes = new Map(Array.from({ length: 10 }, (_, i) => [`m${i}`, 7] as [string, number]));
  const { store } = fakeLifecycle(boxes);
  const result = await purgeInactive(depsWith(store, 4));
  t.deepEqual([result.mailboxes, result.messages], [10, 70]);
  t.is(boxes.size, 0);
});

test('purge stops instead of spinning when a batch of mailboxes cannot be deleted', async (t) => {
  const boxes = new Map(Array.from({ length: 4 }, (_, i) => [`m${i}`, 0] as [string, number]));
  const { store, calls } = fakeLifecycle(boxes, { undeletable: new Set(boxes.keys()) });
  const result = await purgeInactive(depsWith(store, 4));
  t.is(result.mailboxes, 0);
  t.is(calls.filter((c) => c === 'candidates').length, 1);
});

test('the maintenance processor dispatches on the job name and refuses unknown names', async (t) => {
  const { store, calls } = fakeLifecycle(new Map());
  const run = createMaintenanceProcessor(depsWith(store, 10));
  t.like(await run({ name: 'sweep-expired' } as Job), { expired: 0 });
  t.deepEqual(calls, ['sweep']);
  await t.throwsAsync(run({ name: 'no-such-job' } as Job), { name: 'UnrecoverableError' });
});
