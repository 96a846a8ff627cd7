import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** Run test/fixtures/slow-start.ts, send SIGTERM once it logged "armed" (and `again` once it logged "shutdown.start"). */
async function signalDuringStart(env: Record<string, string>, again?: NodeJS.Signals) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/slow-start.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: string[] = [];
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = (JSON.parse(line) as { event: string }).event;
    events.push(event);
    if (event === 'armed') child.kill('SIGTERM');
    if (event === 'shutdown.start' && again) child.kill(again);
  });
  const [code, signal] = await exited;
  return { code, signal, events };
}

test('SIGTERM during start-up waits for start-up to finish, then closes every part, last started first, and exits 0', async (t) => {
  const r = await signalDuringStart({ SLOW_START_MS: '800' });
  t.is(r.signal, null, 'not ended by the default action of the signal');
  t.is(r.code, 0);
  t.deepEqual(r.events, ['armed', 'shutdown.start', 'part.started', 'closed.part', 'closed.shared', 'shutdown.done']);
});

test('a start-up that never completes is ended by the shutdown budget (exit 1), not waited for forever', async (t) => {
  const started = Date.now();
  const r = await signalDuringStart({ SLOW_START_MS: '60000', BUDGET_MS: '700' });
  t.is(r.code, 1);
  t.deepEqual(r.events, ['armed', 'shutdown.start', 'shutdown.timeout']);
  t.true(Date.now() - started < 30_000);
});

test('a second signal during start-up exits at once with 1', async (t) => {
  const r = await signalDuringStart({ SLOW_START_MS: '60000' }, 'SIGINT');
  t.is(r.code, 1);
  t.deepEqual(r.events, ['armed', 'shutdown.start', 'shutdown.forced']);
});
