import test from 'ava';
import { inboxCursor, inboxCursorParam } from '../../src/connected/inbox-feed.js';
import { backoffMs } from '../../src/connected/watcher.js';
import { loadConfig } from '../../src/core/config.js';
import { parseMailEvent } from '../../src/pubsub/subscriber.js';

test('reconnect backoff: from the minimum, doubling, capped at the maximum, with jitter in the upper half', (t) => {
  const min = 1_000;
  const max = 5 * 60_000;
  t.is(
    backoffMs(0, min, max, () => 0),
    500,
  );
  t.is(
    backoffMs(0, min, max, () => 1),
    1_000,
  );
  t.is(
    backoffMs(3, min, max, () => 1),
    8_000,
  );
  t.is(
    backoffMs(9, min, max, () => 1),
    max,
  );
  t.is(
    backoffMs(1_000, min, max, () => 1),
    max,
    'no overflow for a long outage',
  );
  t.is(
    backoffMs(1_000, min, max, () => 0),
    max / 2,
  );
  for (let attempt = 0; attempt < 20; attempt++) {
    const d = backoffMs(attempt, min, max);
    t.true(d >= Math.min(max, min * 2 ** attempt) / 2 && d <= Math.min(max, min * 2 ** attempt), String(d));
  }
});

test('watcher settings: defaults and bounds', (t) => {
  const w = loadConfig({}).connected.watch;
  t.deepEqual(w, {
    maxPerWorker: 500,
    scanMs: 5_000,
    leaseMs: 30_000,
    backoffMinMs: 1_000,
    backoffMaxMs: 300_000,
    reIdleMs: 25 * 60_000,
    pollMs: 60_000,
    quietMs: 300_000,
  });
  t.is(loadConfig({ CONNECTED_WATCHERS_MAX: '0' }).connected.watch.maxPerWorker, 0);
  t.throws(() => loadConfig({ CONNECTED_WATCH_LEASE_MS: '10' }));
  // a maximum below the minimum is the minimum
  t.is(
    loadConfig({ CONNECTED_WATCH_BACKOFF_MIN_MS: '2000', CONNECTED_WATCH_BACKOFF_MAX_MS: '1000' }).connected.watch
      .backoffMaxMs,
    2_000,
  );
});

test('INBOX cursors: <uidvalidity>.<uid>, uid 0 allowed, anything else 400 invalid_cursor', (t) => {
  t.deepEqual(inboxCursorParam('1733000000.42', 'since'), { uidValidity: 1733000000n, uid: 42 });
  t.deepEqual(inboxCursorParam('7.0', 'Last-Event-ID'), { uidValidity: 7n, uid: 0 });
  t.is(inboxCursorParam(undefined, 'since'), undefined);
  t.is(inboxCursorParam('', 'since'), undefined);
  t.is(inboxCursor({ uidValidity: 5n, uid: 9 }), '5.9');
  for (const bad of ['42', '0.1', '1.-1', '1.01', '4294967296.1', '1.4294967296', ' 1.1', '1.1.1', ['1.1']]) {
    const err = t.throws<Error & { code: string; status: number }>(() => inboxCursorParam(bad, 'since'));
    t.is(err.code, 'invalid_cursor', String(bad));
    t.is(err.status, 400);
  }
});

test('a connected new_message event (cursor <uidvalidity>.<uid>) passes the subscriber; others do not', (t) => {
  const e = {
    type: 'new_message',
    mailboxId: 'm',
    cursor: '1733000000.42',
    message: { id: '1733000000.42.SU5CT1g', is_read: false },
  };
  t.deepEqual(parseMailEvent(JSON.stringify(e)), e as never);
  for (const cursor of ['1.2.3', '.1', '1.', 'a.1', '12345678901.1'])
    t.is(parseMailEvent(JSON.stringify({ ...e, cursor })), undefined, cursor);
});
