import test from 'ava';
import { createSessionClocks, type Timers, type TimeLimitReached } from '../../src/ingress/smtp/session-clock.js';

/** Timers that move only when the test says so. */
function manualTimers() {
  let now = 1_000;
  const pending = new Set<{ at: number; fn: () => void }>();
  const timers: Timers = {
    set(fn, ms) {
      const t = { at: now + ms, fn };
      pending.add(t);
      return t;
    },
    clear(handle) {
      pending.delete(handle as { at: number; fn: () => void });
    },
    now: () => now,
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...pending].filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      pending.delete(due);
      now = due.at;
      due.fn();
    }
    now = until;
  };
  return { timers, advance, pending: () => pending.size };
}

function setup(maxSessionMs = 1_000, maxDataMs = 300) {
  const m = manualTimers();
  const limits: Array<{ id: string } & TimeLimitReached> = [];
  const clocks = createSessionClocks<{ id: string }>({
    maxSessionMs,
    maxDataMs,
    timers: m.timers,
    onLimit: (s, r) => limits.push({ id: s.id, ...r }),
  });
  return { ...m, limits, clocks };
}

test('a session past SMTP_MAX_SESSION_MS between transactions is ended once, in the command phase', (t) => {
  const { clocks, advance, limits } = setup();
  clocks.open({ id: 's1' });
  advance(999);
  t.deepEqual(limits, []);
  advance(1);
  t.deepEqual(limits, [{ id: 's1', limit: 'session', phase: 'command', ageMs: 1_000 }]);
  advance(10_000);
  t.is(limits.length, 1);
});

test('a DATA past SMTP_MAX_DATA_MS aborts the collection and ends the session in the data phase', (t) => {
  const { clocks, advance, limits } = setup();
  const s = { id: 's1' };
  clocks.open(s);
  advance(100);
  const data = clocks.data(s);
  advance(299);
  t.false(data.signal.aborted);
  advance(1);
  t.true(data.signal.aborted);
  t.deepEqual(limits, [{ id: 's1', limit: 'data', phase: 'data', ageMs: 400 }]);
  data.replied();
  advance(10_000);
  t.is(limits.length, 1, 'the session limit does not end it a second time');
});

test('the DATA limit stops at the final dot: each DATA has its own, not the session', (t) => {
  const { clocks, advance, limits } = setup(10_000, 300);
  const s = { id: 's1' };
  clocks.open(s);
  for (let i = 0; i < 5; i++) {
    const data = clocks.data(s);
    advance(250);
    data.received();
    advance(250); // enqueueing: no DATA limit any more
    data.replied();
    t.false(data.signal.aborted);
  }
  t.deepEqual(limits, []);
});

test('the session limit reached while a received message is enqueued waits for its reply, then ends the session', (t) => {
  const { clocks, advance, limits } = setup(1_000, 800);
  const s = { id: 's1' };
  clocks.open(s);
  advance(500);
  const data = clocks.data(s);
  advance(400);
  data.received();
  advance(200); // past the session limit while in the reply phase
  t.deepEqual(limits, [], 'no 421 before the message has its reply');
  t.false(data.signal.aborted, 'the message is not abandoned');
  data.replied();
  t.deepEqual(limits, [{ id: 's1', limit: 'session', phase: 'command', ageMs: 1_100 }]);
  data.replied();
  t.is(limits.length, 1);
});

test('close clears every timer of the session; a session never opened is not counted', (t) => {
  const { clocks, advance, limits, pending } = setup();
  const s = { id: 's1' };
  clocks.open(s);
  clocks.data(s);
  t.is(pending(), 2);
  t.true(clocks.close(s));
  t.is(pending(), 0);
  advance(10_000);
  t.deepEqual(limits, []);
  t.false(clocks.close(s));
  t.false(clocks.close({ id: 'never' }));
});

test('sessions are timed apart', (t) => {
  const { clocks, advance, limits } = setup(1_000);
  clocks.open({ id: 'a' });
  advance(600);
  clocks.open({ id: 'b' });
  advance(400);
  t.deepEqual(
    limits.map((l) => l.id),
    ['a'],
  );
  advance(600);
  t.deepEqual(
    limits.map((l) => l.id),
    ['a', 'b'],
  );
});

test('DATA on a session the clock does not know has a signal that never aborts', (t) => {
  const { clocks, advance, limits, pending } = setup();
  const data = clocks.data({ id: 'unknown' });
  t.is(pending(), 0);
  advance(10_000);
  data.received();
  data.replied();
  t.false(data.signal.aborted);
  t.deepEqual(limits, []);
});
