import anyTest, { type TestFn } from 'ava';
import { recordEvents } from '../../src/store/events.js';
import { coalescedWebhookEnqueue } from '../../src/queue/webhook-jobs.js';
import { claimDelivery } from '../../src/store/webhook-deliveries.js';
import { startSystem, type System } from '../helpers/system.js';

// The claim of a delivery (mw_claim_webhook_delivery, one statement): the per-endpoint cap is exact under
// concurrent claims, a dead worker's claim is taken over once stale, and a disabled webhook fails the delivery.
// Only the web role runs: no webhooks worker claims anything behind the test's back.

const test = anyTest as TestFn<{ sys: System }>;
const STALE_MS = 60_000;

test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'], env: { WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

async function pending(sys: System, n: number) {
  const box = await sys.createMailbox();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, {
    method: 'PUT',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }),
  });
  if (r.status !== 201) throw new Error(`PUT webhook: ${r.status}`);
  const { id } = await sys.deps.db('mailboxes').where({ address: box.address }).first('id');
  const recorded = await recordEvents(
    sys.deps.db,
    Array.from({ length: n }, () => ({
      mailboxId: id as string,
      mailboxAddress: box.address,
      type: 'webhook.test' as const,
      occurredAt: new Date(),
      data: {},
    })),
  );
  return { mailboxId: id as string, ids: recorded.map((e) => e.deliveryId!) };
}

test('12 concurrent claims of one endpoint with a cap of 3: exactly 3 claimed, the others busy', async (t) => {
  const { sys } = t.context;
  const { ids } = await pending(sys, 12);
  const claims = await Promise.all(
    ids.map((id) => claimDelivery(sys.deps.db, id, { maxInFlight: 3, staleMs: STALE_MS })),
  );
  const kinds = claims.map((c) => c.kind).sort();
  t.deepEqual(kinds, [...Array(9).fill('busy'), ...Array(3).fill('claimed')]);
  const claimed = claims.find((c) => c.kind === 'claimed');
  if (claimed?.kind !== 'claimed') return t.fail();
  t.is(claimed.delivery.attempts, 0);
  t.is(claimed.event.type, 'webhook.test');
  t.is(claimed.webhook.url, 'http://127.0.0.1:9/hook');
  t.true(Buffer.isBuffer(claimed.webhook.secretSealed));
  t.is((await sys.deps.db('webhook_deliveries').whereIn('id', ids).where({ status: 'sending' })).length, 3);
  // a claimed delivery is not claimed twice
  t.is((await claimDelivery(sys.deps.db, claimed.delivery.id, { maxInFlight: 9, staleMs: STALE_MS })).kind, 'nothing');
});

test('a stale sending claim (its worker died) is taken over; not yet due is not_due; disabled fails it', async (t) => {
  const { sys } = t.context;
  const { mailboxId, ids } = await pending(sys, 3);
  const [stale, later, off] = ids as [string, string, string];
  await sys.deps
    .db('webhook_deliveries')
    .where({ id: stale })
    .update({ status: 'sending', attempts: 2, processing_started_at: new Date(Date.now() - 2 * STALE_MS) });
  const taken = await claimDelivery(sys.deps.db, stale, { maxInFlight: 1, staleMs: STALE_MS });
  t.is(taken.kind, 'claimed');
  if (taken.kind === 'claimed') t.is(taken.delivery.attempts, 2);

  const at = new Date(Date.now() + 60_000);
  await sys.deps.db('webhook_deliveries').where({ id: later }).update({ next_attempt_at: at });
  const notDue = await claimDelivery(sys.deps.db, later, { maxInFlight: 9, staleMs: STALE_MS });
  t.is(notDue.kind, 'not_due');
  if (notDue.kind === 'not_due') t.is(notDue.at.getTime(), at.getTime());

  await sys.deps.db('mailbox_webhooks').where({ mailbox_id: mailboxId }).update({ status: 'disabled' });
  t.is((await claimDelivery(sys.deps.db, off, { maxInFlight: 9, staleMs: STALE_MS })).kind, 'nothing');
  t.like(await sys.deps.db('webhook_deliveries').where({ id: off }).first(), {
    status: 'failed',
    last_error: 'webhook disabled',
  });
});

test('the delivery worker enqueues the deliveries of one turn of the event loop as one addBulk', async (t) => {
  const { sys } = t.context;
  const { ids } = await pending(sys, 3);
  const queue = sys.deps.queues.webhooks;
  let bulks = 0;
  const counted = new Proxy(queue, {
    get(target, key, receiver) {
      if (key === 'addBulk') bulks++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  const enqueue = coalescedWebhookEnqueue(counted, sys.deps.log, 5_000);
  const results = await Promise.all(ids.map((id) => enqueue([id])));
  t.deepEqual(results, [true, true, true]);
  t.is(bulks, 1);
  for (const id of ids) t.truthy(await queue.getJob(id), `job ${id}`);
  t.false(await coalescedWebhookEnqueue(undefined, sys.deps.log, 5_000)([ids[0]!]));
});
