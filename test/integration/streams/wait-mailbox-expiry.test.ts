import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../../helpers/system.js';

/**
 * A wait ends with 410 when its mailbox expires, and goes on when its TTL is extended. TTL_UNIT_MS=1000:
 * ttl_minutes counts seconds here. No worker role: nothing runs the expiry job or publishes mailbox_expired,
 * so the wait has to notice the expiry on its own.
 */
const test = anyTest as TestFn<{ noWorker: System }>;
test.before(async (t) => {
  t.context.noWorker = await startSystem({ roles: ['web', 'smtp'], env: { TTL_UNIT_MS: '1000' } });
});
test.after.always(async (t) => {
  await t.context.noWorker?.stop();
});

test('a wait ends with 410 when its mailbox expires, even with no expiry event (no worker ran the expiry job)', async (t) => {
  const { noWorker: sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=2'); // two seconds here
  const started = Date.now();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=15&subject=never`, { token: box.token });
  t.is(r.status, 410);
  t.is(r.body.error.code, 'mailbox_expired');
  t.true(Date.now() - started < 5_000, `ended after ${Date.now() - started} ms, at the expiry, not at the deadline`);
});

test('a wait goes on when its mailbox TTL is extended while it waits', async (t) => {
  const { noWorker: sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=2');
  const waiting = sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=4&subject=never`, { token: box.token });
  await new Promise((r) => setTimeout(r, 300));
  const patched = await sys.json(`/api/v1/mailboxes/${box.address}?ttl_minutes=60`, {
    method: 'PATCH',
    token: box.token,
  });
  t.is(patched.status, 200, JSON.stringify(patched.body));
  const r = await waiting;
  t.is(r.status, 200);
  t.deepEqual(r.body, []);
});
