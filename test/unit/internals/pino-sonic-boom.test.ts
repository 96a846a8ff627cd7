import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';

// docs/internals.md, rows "pino symbols.streamSym" and "sonic-boom _len/_writing/'write'": drainLog in
// src/core/log.ts finds the logger's destination through pino.symbols.streamSym and waits until sonic-boom's
// private counters say nothing is left to write, looking again at each 'write' event.
const STREAM_ROW = 'internals.md row "pino symbols.streamSym" (src/core/log.ts drainLog)';
const BOOM_ROW = 'internals.md row "sonic-boom _len/_writing/write event" (src/core/log.ts drainLog)';

test('an asynchronous pino destination is reachable by streamSym and exposes its pending length, writing flag and write event', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-internals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const dest = pino.destination({ dest: file, sync: false, mkdir: true });
  await new Promise((resolve) => dest.once('ready', resolve));
  const log = pino({ base: null }, dest);

  t.is(typeof pino.symbols.streamSym, 'symbol', `${STREAM_ROW}: pino.symbols.streamSym is gone`);
  const found = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  t.is(found, dest, `${STREAM_ROW}: the logger no longer keeps its destination under streamSym`);

  const boom = dest as unknown as { _len?: unknown; _writing?: unknown; sync?: unknown; destroyed?: unknown };
  t.is(boom.sync, false, BOOM_ROW);
  t.is(boom.destroyed, false, `${BOOM_ROW}: destroyed flag`);
  t.is(boom._len, 0, `${BOOM_ROW}: _len (bytes not yet written) is gone or not a number`);
  t.is(boom._writing, false, `${BOOM_ROW}: _writing is gone or not a boolean`);

  const written = new Promise<void>((resolve) => dest.once('write', () => resolve()));
  log.info({ event: 'internals.probe' }, 'x'.repeat(100));
  t.true(
    typeof boom._len === 'number' && boom._len > 100,
    `${BOOM_ROW}: a line just logged is not counted in _len (${String(boom._len)})`,
  );
  t.is(boom._writing, true, `${BOOM_ROW}: a write in flight does not show in _writing`);
  await written;
  await new Promise((resolve) => process.nextTick(resolve));
  t.is(boom._len, 0, `${BOOM_ROW}: _len does not return to 0 once written`);
  t.is(boom._writing, false, BOOM_ROW);
  t.regex(await readFile(file, 'utf8'), /internals\.probe/);
  dest.end();
});
