import test from 'ava';
import { runFixture } from '../helpers/fixture.js';

/** Run test/fixtures/thread-host.ts; its log events in order and its exit code. */
const host = (env: Record<string, string>) =>
  runFixture<{ event: string; why?: string; err?: { message?: string } }>('test/fixtures/thread-host.ts', env);

test('a worker thread that fails after start ends the process with exit 1 and a fatal worker_thread.failed line', async (t) => {
  const started = Date.now();
  const r = await host({ CRASH_AFTER_MS: '300' });
  t.is(r.code, 1);
  t.deepEqual(
    r.lines.map((l) => l.event),
    ['host.thread_ready', 'worker_thread.failed'],
  );
  t.is(r.lines[1]!.why, 'error');
  t.regex(r.lines[1]!.err?.message ?? '', /thread crashed after start/);
  t.true(Date.now() - started < 8_000, 'it did not wait for the host to finish on its own');
});

test('a worker thread that cannot start makes startWorkerThread reject (start-up fails instead of running without delivery)', async (t) => {
  const r = await host({ FAIL_AT: 'start' });
  t.is(r.code, 3);
  t.deepEqual(
    r.lines.map((l) => l.event),
    ['host.start_failed'],
  );
  t.regex(r.lines[0]!.err?.message ?? '', /thread could not start/);
});
