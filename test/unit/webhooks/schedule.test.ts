import test from 'ava';
import { nextAttemptDelay, parseRetryAfter, RETRY_AFTER_MAX_MS } from '../../../src/webhooks/schedule.js';

const schedule = [5_000, 300_000, 1_800_000];

test('the n-th failed attempt waits the n-th entry, ±20 %; after the last entry, no retry', (t) => {
  for (const [i, base] of schedule.entries()) {
    t.is(nextAttemptDelay({ attempts: i + 1, scheduleMs: schedule, statusCode: 500, random: () => 0.5 }), base);
    t.is(nextAttemptDelay({ attempts: i + 1, scheduleMs: schedule, statusCode: 500, random: () => 0 }), base * 0.8);
    t.is(nextAttemptDelay({ attempts: i + 1, scheduleMs: schedule, statusCode: null, random: () => 1 }), base * 1.2);
  }
  t.is(nextAttemptDelay({ attempts: 4, scheduleMs: schedule, statusCode: 500 }), null);
  t.is(nextAttemptDelay({ attempts: 1, scheduleMs: [], statusCode: 500 }), null);
});

test('Retry-After is honoured on 429 and 503 only, capped at an hour', (t) => {
  t.is(nextAttemptDelay({ attempts: 1, scheduleMs: schedule, statusCode: 429, retryAfterMs: 120_000 }), 120_000);
  t.is(nextAttemptDelay({ attempts: 1, scheduleMs: schedule, statusCode: 503, retryAfterMs: 9e9 }), RETRY_AFTER_MAX_MS);
  t.is(
    nextAttemptDelay({ attempts: 1, scheduleMs: schedule, statusCode: 500, retryAfterMs: 120_000, random: () => 0.5 }),
    5_000,
  );
  t.is(nextAttemptDelay({ attempts: 4, scheduleMs: schedule, statusCode: 429, retryAfterMs: 1 }), null);
});

test('Retry-After: seconds or an HTTP date', (t) => {
  t.is(parseRetryAfter('120'), 120_000);
  t.is(parseRetryAfter(' 0 '), 0);
  const now = Date.parse('2026-12-06T05:00:00Z');
  t.is(parseRetryAfter('Sun, 06 Dec 2026 05:01:00 GMT', now), 60_000);
  t.is(parseRetryAfter('soon'), undefined);
  t.is(parseRetryAfter(undefined), undefined);
});
