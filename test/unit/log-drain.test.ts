import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Run the fixture and read back the sequence numbers of the lines it wrote. */
async function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/log-then-exit.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, seqs: out.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq) };
}

test('exitAfterLog: every line logged before the exit reaches stdout, in order, and the exit code is kept', async (t) => {
  const runs = await Promise.all(Array.from({ length: 8 }, () => run({ LINES: '200', EXIT_CODE: '3' })));
  for (const [i, { code, seqs }] of runs.entries()) {
    t.is(code, 3);
    t.is(seqs.length, 202, `run ${i}: every line`);
    t.deepEqual(seqs.filter((s, n) => s !== n), [], `run ${i}: in order`);
  }
});
