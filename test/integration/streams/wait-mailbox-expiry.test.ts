import anyTest, { type TestFn } from 'ava';
import { connect } from 'node:net';
import { startSystem, type System } from '../../helpers/system.js';

/**
 * Found by an audit of streams and waits (2026-12-02). TTL_UNIT_MS=1000: ttl_minutes counts seconds here.
 * No worker role in `noWorker`: nothing runs the expiry job or publishes mailbox_expired.
 */
const test = anyTest as TestFn<{ sys: System; noWorker: System }>;
test.before(async (t) => {
  const sys = await startSystem({ env: { TTL_UNIT_MS: '1000' } });
  const noWorker = await startSystem({ roles: ['web', 'smtp'], env: { TTL_UNIT_MS: '1000' } });
  t.context = { sys, noWorker };
});
test.after.always(async (t) => { await Promise.all([t.context.sys?.stop(), t.context.noWorker?.stop()]); });

const waitFor = async (cond: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

test('a wait whose client leaves while it is being set up is released at once, not after its whole wait', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=600');
  const hub = sys.web!.streams.hub;
  const before = hub.size();
  // raw sockets that send the request and hang up 0-10 ms later, while auth and the mailbox lookup run
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const s = connect(sys.web!.port, '127.0.0.1', () => {
        s.write(`GET /api/v1/mailboxes/${box.address}/messages?wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${box.token}\r\n\r\n`);
        setTimeout(() => { s.destroy(); resolve(); }, i % 11);
      });
      s.on('error', () => resolve());
    });
  }
  t.true(await waitFor(() => hub.size() === before, 5_000), `listeners left: ${hub.size() - before}`);
});

test('a /regex/ filter with \\b matches as in JavaScript (Postgres writes a word boundary \\y)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=600');
  await sys.send({ from: 'a@example.org', to: box.address, subject: 'Your code is 123456', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const q = (re: string) => sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=2&subject=${encodeURIComponent(re)}`, { token: box.token });
  const started = Date.now();
  const hit = await q('/\\bcode\\b/');
  t.is(hit.status, 200);
  t.is(hit.body.length, 1);
  t.true(Date.now() - started < 1_500, 'found at once, not at the deadline');
  t.is((await q('/\\Bode\\b/')).body.length, 1, '\\B: inside a word');
  t.is((await q('/\\bode/')).body.length, 0, 'no word starts with "ode"');
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
  const patched = await sys.json(`/api/v1/mailboxes/${box.address}?ttl_minutes=60`, { method: 'PATCH', token: box.token });
  t.is(patched.status, 200, JSON.stringify(patched.body));
  const r = await waiting;
  t.is(r.status, 200);
  t.deepEqual(r.body, []);
});
