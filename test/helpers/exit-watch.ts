import test, { registerCompletionHandler } from 'ava';
import { writeSync } from 'node:fs';

/**
 * Loaded into every test worker (package.json › ava.require). After a test file has finished (every test and
 * hook done), its process should exit by itself; a handle left open (a socket, a child process, a timer)
 * keeps it alive, and ava then waits for its inactivity timeout and fails the run with no test named
 * (`--tap` prints no "not ok" line for it). This names the file and what keeps it alive, and fails it at once.
 */
const GRACE_MS = Number(process.env.TEST_EXIT_GRACE_MS ?? 30_000);

registerCompletionHandler(() => {
  const timer = setTimeout(() => {
    const file = test.meta.file.replace(/^file:\/\//, '');
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().map(describe);
    writeSync(
      2,
      `\n[exit-watch] ${file} finished its tests ${GRACE_MS} ms ago and is still alive; open: ${JSON.stringify(handles)}\n`,
    );
    process.exit(1);
  }, GRACE_MS);
  timer.unref();
});

function describe(h: unknown): string {
  const o = h as {
    constructor?: { name?: string };
    remoteAddress?: string;
    remotePort?: number;
    localPort?: number;
    spawnfile?: string;
    spawnargs?: string[];
    pid?: number;
  };
  const name = o.constructor?.name ?? typeof h;
  if (o.spawnfile) return `${name} pid ${o.pid} ${[o.spawnfile, ...(o.spawnargs ?? []).slice(1)].join(' ')}`;
  if (o.remotePort) return `${name} ${o.remoteAddress}:${o.remotePort} (local ${o.localPort})`;
  if (o.localPort) return `${name} local ${o.localPort}`;
  return name;
}
