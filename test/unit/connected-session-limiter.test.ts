import test from 'ava';
import { ImapBusy } from '../../src/connected/errors.js';
import { SessionLimiter } from '../../src/connected/session-limiter.js';
import { ConfigError, loadConfig } from '../../src/core/config.js';

test('IMAP_MAX_CONNECTIONS_PER_MAILBOX (2) and IMAP_QUEUE_MAX (8): defaults and bounds checked at start', (t) => {
  const c = loadConfig({});
  t.is(c.connected.imapMaxConnectionsPerMailbox, 2);
  t.is(c.connected.imapQueueMax, 8);
  const set = loadConfig({ IMAP_MAX_CONNECTIONS_PER_MAILBOX: '5', IMAP_QUEUE_MAX: '0' });
  t.is(set.connected.imapMaxConnectionsPerMailbox, 5);
  t.is(set.connected.imapQueueMax, 0);
  for (const env of [
    { IMAP_MAX_CONNECTIONS_PER_MAILBOX: '0' },
    { IMAP_MAX_CONNECTIONS_PER_MAILBOX: '101' },
    { IMAP_MAX_CONNECTIONS_PER_MAILBOX: 'two' },
    { IMAP_QUEUE_MAX: '-1' },
    { IMAP_QUEUE_MAX: '1001' },
  ])
    t.throws(() => loadConfig(env), { instanceOf: ConfigError, message: new RegExp(Object.keys(env)[0]!) });
});

test('slots per key: the queue is served in order, a full queue is refused at once with Retry-After', async (t) => {
  const limiter = new SessionLimiter(1, 2, 5_000);
  const first = await limiter.acquire('a');
  const other = await limiter.acquire('b'); // another mailbox has its own slots
  const order: string[] = [];
  const second = limiter.acquire('a').then((release) => (order.push('second'), release));
  const third = limiter.acquire('a').then((release) => (order.push('third'), release));
  const refused = await t.throwsAsync(limiter.acquire('a'), { instanceOf: ImapBusy });
  t.is(refused.status, 503);
  t.is(refused.headers['Retry-After'], '1');
  first();
  first(); // a second call gives nothing back twice
  (await second)();
  (await third)();
  t.deepEqual(order, ['second', 'third']);
  other();
  const again = await limiter.acquire('a');
  const also = limiter.acquire('a');
  again();
  (await also)();
});

test('a queued caller waits at most waitMs, then 503 imap_busy, and leaves the queue', async (t) => {
  const limiter = new SessionLimiter(1, 1, 50);
  const held = await limiter.acquire('a');
  await t.throwsAsync(limiter.acquire('a'), { instanceOf: ImapBusy });
  // the timed-out waiter left its place: the queue takes one again
  const waiting = limiter.acquire('a');
  held();
  (await waiting)();
});
