import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heapAfterGc, logContains, startProc, stopProc, waitFor } from '../../bench/ingest-procs.js';

// The bench's memory verdict rests on this probe (bench/heap-probe.mjs): it must see memory a process keeps,
// not the garbage it made, and say so when it cannot measure.
const root = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = `
  const keep = [];
  process.on('SIGWINCH', () => { for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i }); console.log('grown'); });
  process.on('SIGURG', () => { let junk = []; for (let i = 0; i < 300000; i++) junk.push({ i, s: 'y' + i }); junk = null; console.log('churned'); });
  setInterval(() => {}, 1000);
  console.log('ready');
`;

const withChild = async (flags: string[], fn: (p: ReturnType<typeof startProc>) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-heap-probe-'));
  const p = startProc('child', [...flags, '--import', './bench/heap-probe.mjs', '-e', CHILD], {}, dir, root);
  try {
    await waitFor('child ready', logContains(p, 'ready'), 10_000, p);
    await fn(p);
  } finally {
    await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  }
};

test('the heap after a full GC grows with what a process keeps, not with the garbage it made', async (t) => {
  await withChild(['--expose-gc'], async (p) => {
    const before = (await heapAfterGc(p))!;
    t.true(before > 1_000_000 && before < 100_000_000, `heap in use: ${before}`);
    p.child.kill('SIGURG');
    await waitFor('churned', logContains(p, 'churned'), 10_000, p);
    const afterGarbage = (await heapAfterGc(p))!;
    t.true(Math.abs(afterGarbage - before) < 2_000_000, `garbage only: ${before} -> ${afterGarbage}`);
    p.child.kill('SIGWINCH');
    await waitFor('grown', logContains(p, 'grown'), 10_000, p);
    const afterKeep = (await heapAfterGc(p))!;
    t.true(afterKeep - afterGarbage > 10_000_000, `300,000 kept objects: ${afterGarbage} -> ${afterKeep}`);
  });
});

test('without --expose-gc the probe reports nothing rather than a figure without a full GC', async (t) => {
  await withChild([], async (p) => {
    t.is(await heapAfterGc(p), undefined);
  });
});
