import test from 'ava';
import type { Job } from 'bullmq';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import type { MaintenanceDeps } from '../../../src/maintenance/context.js';
import { expireMailbox } from '../../../src/maintenance/expire-mailbox.js';
import type { ExpireMailboxJob } from '../../../src/queue/maintenance-jobs.js';
import type { LifecycleStore } from '../../../src/store/lifecycle.js';

test('mailbox.expired says how late the job deactivated the mailbox (lateMs from its expires_at)', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const expiresAt = new Date(Date.now() - 250);
  const lifecycle = { expireOne: async () => ({ expiresAt }) } as unknown as LifecycleStore;
  const published: unknown[] = [];
  const deps = {
    config: {},
    log: pino(sink),
    lifecycle,
    publisher: {
      publish: async (e: unknown) => {
        published.push(e);
      },
    },
  } as unknown as MaintenanceDeps;
  // a job as BullMQ hands it over once due: its delay is no longer set
  const job = {
    data: { v: 1, mailboxId: 'm1' },
    delay: 0,
    timestamp: Date.now() - 60_000,
  } as unknown as Job<ExpireMailboxJob>;
  t.is(await expireMailbox(job, undefined, deps), 'expired');
  const line = lines.find((l) => l.event === 'mailbox.expired')!;
  t.is(line.via, 'job');
  t.true(typeof line.lateMs === 'number' && line.lateMs >= 250 && line.lateMs < 5_000, `lateMs ${String(line.lateMs)}`);
  t.deepEqual(published, [{ type: 'mailbox_expired', mailboxId: 'm1', reason: 'expired' }]);
});
