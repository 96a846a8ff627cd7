import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Run test/fixtures/thread-host.ts; its log events in order and its exit code. */
async function host(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/thread-host.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const [code] = (await once(child, 'exit')) as [number | null];
  const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; why?: string; err?: { message?: string } });
  return { code, lines };
}

test('a worker thread that fails after start ends the process with exit 1 and a fatal worker_thread.failed line', async (t) => {
  const started = Date.now();
  const r = await host({ CRASH_AFTER_MS: '300' });
  t.is(r.code, 1);
  t.deepEqual(r.lines.map((l) => l.event), ['host.thread_ready', 'worker_thread.failed']);
  t.is(r.lines[1]!.why, 'error');
  t.regex(r.lines[1]!.err?.message ?? '', /thread crashed after start/);
  t.true(Date.now() - started < 8_000, 'it did not wait for the host to finish on its own');
});

test('a worker thread that cannot start makes startWorkerThread reject (start-up fails instead of running without delivery)', async (t) => {
  const r = await host({ FAIL_AT: 'start' });
  t.is(r.code, 3);
  t.deepEqual(r.lines.map((l) => l.event), ['host.start_failed']);
  t.regex(r.lines[0]!.err?.message ?? '', /thread could not start/);
});
