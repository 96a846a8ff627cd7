import test from 'ava';
import { loadConfig } from '../../src/core/config.js';
import { threadShare, withThreadShare } from '../../src/roles/thread-share.js';

const config = loadConfig({ NODE_ENV: 'test', WORKER_MAX_BYTES_IN_FLIGHT: String(16 * 1024 * 1024) });

test('WORKER_MAX_BYTES_IN_FLIGHT is per process: each delivery thread gets an equal share, together at most the limit', (t) => {
  t.is(threadShare(config, 1).maxBytesInFlight, 16 * 1024 * 1024);
  t.is(threadShare(config, 2).maxBytesInFlight, 8 * 1024 * 1024);
  t.true(threadShare(config, 3).maxBytesInFlight * 3 <= 16 * 1024 * 1024);
  t.is(threadShare(config, 0).maxBytesInFlight, 16 * 1024 * 1024, 'no thread count below one');
});

test("a thread runs with the process's configuration and its own share of the byte budget", (t) => {
  const threadConfig = withThreadShare(config, threadShare(config, 4));
  t.is(threadConfig.worker.maxBytesInFlight, 4 * 1024 * 1024);
  t.is(threadConfig.worker.concurrency, config.worker.concurrency);
  t.is(threadConfig.mail, config.mail);
  t.is(config.worker.maxBytesInFlight, 16 * 1024 * 1024, "the process's configuration is unchanged");
  t.is(withThreadShare(config, undefined), config);
});
