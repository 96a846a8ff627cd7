import anyTest, { type TestFn } from 'ava';
import { eventually } from '../helpers/events.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { startSystem, type System } from '../helpers/system.js';
import { recordAttempt } from '../../src/store/webhook-deliveries.js';

const test = anyTest as TestFn<{ sys: System; receivers: Receiver[] }>;

test.before(async (t) => {
  const sys = await startSystem({
    env: {
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_SCHEDULE_MS: '100,200',
      WEBHOOK_TIMEOUT_MS: '400',
      WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '2',
      WEBHOOK_OVERDUE_MS: '1000',
      WEBHOOK_SWEEP_INTERVAL_MS: '300',
    },
  });
  t.context = { sys, receivers: [] };
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await Promise.all(t.context.receivers.map((r) => r.close()));
});

const receiver = async (t: { context: { receivers: Receiver[] } }, answer?: Parameters<typeof startReceiver>[0]) => {
  const rx = await startReceiver(answer);
  t.context.receivers.push(rx);
  return rx;
};

async function hooked(sys: System, url: string) {
  const box = await sys.createMailbox();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, {
    method: 'PUT',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  });
  if (r.status !== 201) throw new Error(`PUT webhook: ${r.status} ${JSON.stringify(r.body)}`);
  return { ...box, secret: r.body.secret as string };
}
const fire = (sys: System, box: { address: string; token: string }) =>
  sys.json(`/api/v1/mailboxes/${box.address}/webhook/test`, { method: 'POST', token: box.token });
const deliveries = async (sys: System, box: { address: string; token: string }) =>
  (await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries`, { token: box.token })).body as any[];

test('retry schedule: 500, 500, then 200 is delivered on the third attempt, same webhook-id, re-signed', async (t) => {
  const { sys } = t.context;
  const rx = await receiver(t, (n) => (n < 2 ? 500 : 200));
  const box = await hooked(sys, rx.url());
  await fire(sys, box);
  const got = await rx.waitFor(3);
  t.is(new Set(got.map((r) => r.headers['webhook-id'])).size, 1);
  t.true(got[1]!.at - got[0]!.at >= 80, `first retry after ${got[1]!.at - got[0]!.at} ms (schedule 100 ±20 %)`);
  t.true(got[2]!.at - got[1]!.at >= 160, `second retry after ${got[2]!.at - got[1]!.at} ms (schedule 200 ±20 %)`);
  const [d] = await eventually(async () => {
    const list = await deliveries(sys, box);
    return list[0]?.status === 'delivered' ? list : undefined;
  }, 20_000);
  t.like(d, { attempts: 3, last_status_code: 200, last_error: null });
});

test('after the last scheduled retry the delivery is failed; Retry-After on 503 is honoured', async (t) => {
  const { sys } = t.context;
  const rx = await receiver(t, () => ({ status: 503, headers: { 'retry-after': '1' }, body: 'x'.repeat(5000) }));
  const box = await hooked(sys, rx.url());
  await fire(sys, box);
  const got = await rx.waitFor(3);
  t.true(got[1]!.at - got[0]!.at >= 950, `Retry-After: 1 waited ${got[1]!.at - got[0]!.at} ms`);
  const [d] = await eventually(async () => {
    const list = await deliveries(sys, box);
    return list[0]?.status === 'failed' ? list : undefined;
  }, 10_000);
  t.like(d, { attempts: 3, last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: null });
  const one = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${d.id}`, { token: box.token });
  t.is(one.body.response_excerpt.length, 1024, 'the first 1 KB of the response is kept');
  t.is(rx.received.length, 3);
});

test('410 disables the webhook (gone) at once: no retry; later events get failed deliveries without attempts', async (t) => {
  const { sys } = t.context;
  const rx = await receiver(t, () => 410);
  const box = await hooked(sys, rx.url());
  await fire(sys, box);
  await rx.waitFor(1);
  const w = await eventually(async () => {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, { token: box.token });
    return r.body.status === 'disabled' ? r.body : undefined;
  });
  t.is(w.disabled_reason, 'gone');
  t.truthy(w.disabled_at);
  const testWhileDisabled = await fire(sys, box);
  t.is(testWhileDisabled.status, 409);
  t.is(testWhileDisabled.body.error.code, 'webhook_disabled');
  await sys.send({ to: box.address, subject: 'while disabled', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const list = await deliveries(sys, box);
  t.like(list[0], { event_type: 'message.received', status: 'failed', attempts: 0, last_error: 'webhook disabled' });
  t.like(list[1], { event_type: 'webhook.test', status: 'failed', attempts: 1, last_status_code: 410 });
  const retry = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/deliveries/${list[0].id}/retry`, {
    method: 'POST',
    token: box.token,
  });
  t.is(retry.status, 409);
  t.is(rx.received.length, 1);
  // a PUT re-enables it; recover re-queues what failed
  const again = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, {
    method: 'PUT',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: (await receiver(t)).url('/back') }),
  });
  t.is(again.status, 200);
  t.is(again.body.status, 'enabled');
  const recovered = await sys.json(`/api/v1/mailboxes/${box.address}/webhook/recover`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ since: new Date(Date.now() - 60_000).toISOString() }),
  });
  t.is(recovered.status, 202);
  t.is(recovered.body.requeued, 2);
  await eventually(async () => {
    const l = await deliveries(sys, box);
    return l.every((d) => d.status === 'delivered') ? l : undefined;
  });
  t.pass();
});

test('timeout: a receiver that never answers is an attempt that failed after WEBHOOK_TIMEOUT_MS', async (t) => {
  const { sys } = t.context;
  const rx = await receiver(t, () => 'hang');
  const box = await hooked(sys, rx.url());
  await fire(sys, box);
  const [d] = await eventually(async () => {
    const list = await deliveries(sys, box);
    return list[0]?.status === 'failed' ? list : undefined;
  }, 10_000);
  t.like(d, { attempts: 3, last_status_code: null, last_error: 'timeout after 400 ms' });
  rx.release();
});

test('per-endpoint cap: a hanging receiver holds at most 2 attempts, and never delays another mailbox', async (t) => {
  const { sys } = t.context;
  const slow = await receiver(t, () => 'hang');
  const fast = await receiver(t);
  const slowBox = await hooked(sys, slow.url());
  const fastBox = await hooked(sys, fast.url());
  for (let i = 0; i < 6; i++) await fire(sys, slowBox);
  await slow.waitFor(2);
  for (let i = 0; i < 5; i++) await fire(sys, fastBox);
  // the other mailbox's deliveries go through while the hanging endpoint keeps its slots
  await fast.waitFor(5, 30_000);
  t.is(slow.maxInFlight, 2);
  t.is(slow.inFlight <= 2, true);
  slow.release();
});

test('failing for WEBHOOK_DISABLE_AFTER_MS disables the webhook (failing) and fails its pending deliveries', async (t) => {
  const { sys } = t.context;
  const rx = await receiver(t, () => 'hang');
  const box = await hooked(sys, rx.url());
  const m = await sys.deps.db('mailboxes').where({ address: box.address }).first('id');
  const w = await sys.deps.db('mailbox_webhooks').where({ mailbox_id: m.id }).first();
  const r = await fire(sys, box);
  const d = { id: r.body.delivery_id as string, webhook_id: w.id as string };
  const fail = { statusCode: 500, error: 'HTTP 500', excerpt: null, ms: 1 } as const;
  t.deepEqual(
    await recordAttempt(
      sys.deps.db,
      d,
      { ...fail, outcome: 'retry', nextAttemptAt: new Date(Date.now() + 60_000) },
      3_600_000,
    ),
    {},
  );
  const row = await sys.deps.db('mailbox_webhooks').where({ id: w.id }).first();
  t.truthy(row.failing_since);
  t.deepEqual(await recordAttempt(sys.deps.db, d, { ...fail, outcome: 'retry', nextAttemptAt: new Date() }, 0), {
    disabled: 'failing',
  });
  const after = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, { token: box.token });
  t.like(after.body, { status: 'disabled', disabled_reason: 'failing' });
  // the worker's own attempt of it may still be in flight: it ends failed either way
  await eventually(async () => ((await deliveries(sys, box))[0]?.status === 'failed' ? true : undefined), 5_000);
  rx.release();
});
