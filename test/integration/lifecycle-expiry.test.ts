import anyTest, { type TestFn } from 'ava';
import { expiryJobId, SCHEDULER_ID } from '../../src/queue/maintenance-jobs.js';
import { upsertMaintenanceSchedules } from '../../src/maintenance/schedules.js';
import { eventually, listenToMailbox } from '../helpers/events.js';
import { startSystem, type System } from '../helpers/system.js';

// 1 TTL "minute" = 1 s; the sweep is pushed out of the way so only the per-mailbox job can expire.
const ENV = { TTL_UNIT_MS: '1000', SWEEP_INTERVAL_MS: '3600000', PURGE_INTERVAL_MS: '3600000' };

const test = anyTest as TestFn<{ sys: System; bare: System }>;
test.before(async (t) => {
  const [sys, bare] = await Promise.all([
    startSystem({ env: ENV }),
    // worker running, maintenance worker not: no expiry job and no sweep can run
    startSystem({ env: { ...ENV, MAINTENANCE_WORKER: 'false' } }),
  ]);
  t.context = { sys, bare };
});
test.after.always(async (t) => {
  await Promise.all([t.context.sys?.stop(), t.context.bare?.stop()]);
});

const row = (sys: System, address: string) => sys.deps.db('mailboxes').where({ address }).first();

test('a 1-minute mailbox is inactive within about a second of expires_at, and mailbox_expired is published', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=1');
  const created = await row(sys, box.address);
  const events = await listenToMailbox(sys.config.redis.prefix, created.id);
  try {
    const job = await sys.deps.queues.maintenance.getJob(expiryJobId(created.id));
    t.truthy(job, 'creating the mailbox scheduled its expiry job');
    t.is(await job!.getState(), 'delayed');
    t.true(Math.abs(job!.timestamp + job!.delay - created.expires_at.getTime()) < 100, 'the job is due at expires_at');

    const expired = await eventually(async () => {
      const r = await row(sys, box.address);
      return r.is_active ? undefined : r;
    }, 5_000);
    const lagMs = expired.deactivated_at.getTime() - expired.expires_at.getTime();
    t.log(`deactivated ${lagMs} ms after expires_at`);
    t.true(lagMs >= 0 && lagMs < 1_000, `lag ${lagMs} ms`);
    t.is(expired.deactivated_reason, 'expired');
    t.deepEqual(await events.next('mailbox_expired'), {
      type: 'mailbox_expired',
      mailboxId: created.id,
      reason: 'expired',
    });

    const read = await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token });
    t.is(read.status, 410);
    t.is(read.body.error.code, 'mailbox_expired');
  } finally {
    events.close();
  }
});

test('DELETE deactivates at once and removes the expiry job', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const { id } = await row(sys, box.address);
  t.truthy(await sys.deps.queues.maintenance.getJob(expiryJobId(id)));
  const del = await sys.api(`/api/v1/mailboxes/${box.address}`, { method: 'DELETE', token: box.token });
  t.is(del.status, 204);
  t.is(await sys.deps.queues.maintenance.getJob(expiryJobId(id)), undefined);
  const r = await row(sys, box.address);
  t.false(r.is_active);
  t.is(r.deactivated_reason, 'deleted');
});

test('the sweep and purge schedules are upserted on boot, idempotently', async (t) => {
  const { sys } = t.context;
  const q = sys.deps.queues.maintenance;
  const ids = async () => (await q.getJobSchedulers()).map((s) => `${s.key}@${s.every}`).sort();
  const expected = [`${SCHEDULER_ID.purge}@3600000`, `${SCHEDULER_ID.sweep}@3600000`];
  t.deepEqual(await ids(), expected);
  await upsertMaintenanceSchedules(q, sys.config);
  await upsertMaintenanceSchedules(q, sys.config);
  t.deepEqual(await ids(), expected);
});

test('a message delivered 50 ms after expires_at is not stored although no expiry job ran', async (t) => {
  const { bare } = t.context;
  const box = await bare.createMailbox('?ttl_minutes=1');
  const { id, expires_at: expiresAt } = await row(bare, box.address);
  // the scenario needs wall-clock time to pass expires_at; this is not a readiness wait
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() + 50 - Date.now())));
  const info = await bare.send({ to: box.address, subject: 'too late', text: 'after expiry' });
  t.regex(info.response, /^250 /);

  const after = await eventually(async () => {
    const r = await row(bare, box.address);
    return r.dropped_count === 1 ? r : undefined;
  }, 10_000);
  t.true(after.is_active, 'no expiry job or sweep ran: the row is still marked active');
  t.is(after.message_count, 0);
  t.is(Number((await bare.deps.db('messages').where({ mailbox_id: id }).count({ n: '*' }))[0]!.n), 0);
  t.is(
    await (await bare.deps.queues.maintenance.getJob(`expire-${id}`))?.getState(),
    'delayed',
    'the expiry job is still waiting',
  );

  const read = await bare.json(`/api/v1/mailboxes/${box.address}`, { token: box.token });
  t.is(read.status, 410);
  t.is(read.body.error.code, 'mailbox_expired');
  const list = await bare.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.is(list.status, 410);
});

test('an expiry job that fires before expires_at (stale after a TTL change) moves itself to the right time', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=2');
  const { id } = await row(sys, box.address);
  const q = sys.deps.queues.maintenance;
  t.is(await q.remove(expiryJobId(id)), 1);
  await q.add('expire-mailbox', { v: 1, mailboxId: id }, { jobId: expiryJobId(id), removeOnComplete: true }); // due now: too early
  const expired = await eventually(async () => {
    const r = await row(sys, box.address);
    return r.is_active ? undefined : r;
  }, 6_000);
  const lagMs = expired.deactivated_at.getTime() - expired.expires_at.getTime();
  t.true(lagMs >= 0 && lagMs < 1_000, `not early, and on time: lag ${lagMs} ms`);
});
