import test from 'ava';
import { BUSY_DELAY_MAX_MS, BUSY_DELAY_MS, busyDelayMs } from '../../../src/webhooks/processor.js';

test('a busy job waits 100 ms doubled per run up to 1.6 s, plus up to as much again at random', (t) => {
  const low = () => 0;
  const high = () => 0.999;
  t.is(busyDelayMs(1, low), BUSY_DELAY_MS);
  t.is(busyDelayMs(2, low), 2 * BUSY_DELAY_MS);
  t.is(busyDelayMs(4, low), 8 * BUSY_DELAY_MS);
  t.is(busyDelayMs(5, low), BUSY_DELAY_MAX_MS);
  t.is(busyDelayMs(500, low), BUSY_DELAY_MAX_MS);
  t.is(busyDelayMs(0, low), BUSY_DELAY_MS, 'a job that never started counts as its first run');
  t.true(busyDelayMs(500, high) < 2 * BUSY_DELAY_MAX_MS);
  t.true(busyDelayMs(1, high) > 1.99 * BUSY_DELAY_MS);
});
