import test from 'ava';
import { loadConfig } from '../../src/core/config.js';
import { shareBetweenThreads } from '../../src/roles/thread-share.js';

const config = loadConfig({
  NODE_ENV: 'test',
  WORKER_MAX_BYTES_IN_FLIGHT: String(16 * 1024 * 1024),
  WORKER_CONCURRENCY: '64',
  WORKER_LARGE_CONCURRENCY: '3',
});

test('WORKER_MAX_BYTES_IN_FLIGHT and the concurrencies are per process: each delivery thread gets its share', (t) => {
  t.is(shareBetweenThreads(config, 1), config, 'one thread: the configuration as it is');
  t.is(shareBetweenThreads(config, 0), config, 'no thread count below one');
  const two = shareBetweenThreads(config, 2);
  t.is(two.worker.maxBytesInFlight, 8 * 1024 * 1024);
  t.is(two.worker.concurrency, 32);
  t.is(two.worker.largeConcurrency, 2, 'rounded up: at least one large job per thread');
  const three = shareBetweenThreads(config, 3);
  t.true(three.worker.maxBytesInFlight * 3 <= 16 * 1024 * 1024 + 2);
});

test("a thread runs with the process's configuration and its own share; the process's is unchanged", (t) => {
  const four = shareBetweenThreads(config, 4);
  t.is(four.worker.maxBytesInFlight, 4 * 1024 * 1024);
  t.is(four.mail, config.mail);
  t.is(config.worker.maxBytesInFlight, 16 * 1024 * 1024);
  t.is(config.worker.concurrency, 64);
});
