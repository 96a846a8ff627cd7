import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Run test/fixtures/failed-start.ts; its exit code, the events it logged and its stderr. */
async function failedStart(fail: 'start' | 'other') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/failed-start.ts'], {
    env: { PATH: process.env.PATH ?? '', FAIL: fail },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const lines = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; level: number; reason?: string; err?: { stack?: string } });
  return { code, lines, events: lines.map((l) => l.event), stderr };
}

test('a StartError: its message as one line on stderr, logged without a stack, the parts started so far closed (last first), exit 1', async (t) => {
  const r = await failedStart('start');
  t.is(r.code, 1);
  t.is(r.stderr, 'port 2525 (SMTP_PORT) is already in use on 127.0.0.1: stop the other process or set SMTP_PORT\n');
  t.deepEqual(r.events, ['part.started', 'start.failed', 'closed.part', 'closed.shared', 'shutdown.done']);
  t.like(r.lines[1], {
    level: 50,
    reason: 'port 2525 (SMTP_PORT) is already in use on 127.0.0.1: stop the other process or set SMTP_PORT',
  });
  t.false(JSON.stringify(r.lines).includes('"stack"'));
});

test('any other error at start-up stays fatal, with its stack trace, exit 1', async (t) => {
  const r = await failedStart('other');
  t.is(r.code, 1);
  t.deepEqual(r.events, ['part.started', 'process.uncaught']);
  t.is(r.lines[1]?.level, 60);
  t.regex(r.lines[1]?.err?.stack ?? '', /something unexpected\n\s+at /);
});
