import test from 'ava';
import { pino } from 'pino';
import { createLogger } from '../../src/core/log.js';
import { runFixture } from '../helpers/fixture.js';

/** Run the fixture and read back the sequence numbers of the lines it wrote. */
async function run(env: Record<string, string>) {
  const { code, lines } = await runFixture<{ seq: number }>('test/fixtures/log-then-exit.ts', env);
  return { code, seqs: lines.map((l) => l.seq) };
}

test('exitAfterLog: every line logged before the exit reaches stdout, in order, and the exit code is kept', async (t) => {
  const runs = await Promise.all(Array.from({ length: 8 }, () => run({ LINES: '200', EXIT_CODE: '3' })));
  for (const [i, { code, seqs }] of runs.entries()) {
    t.is(code, 3);
    t.is(seqs.length, 202, `run ${i}: every line`);
    t.deepEqual(
      seqs.filter((s, n) => s !== n),
      [],
      `run ${i}: in order`,
    );
  }
});

test('LOG_SYNC=true gives a synchronous stdout destination, the default an asynchronous one', (t) => {
  const destOf = (sync: boolean) =>
    (
      createLogger({ log: { level: 'info', pretty: false, sync } }, 'unit') as unknown as Record<
        symbol,
        { sync: boolean }
      >
    )[pino.symbols.streamSym]!;
  t.is(destOf(true).sync, true);
  t.is(destOf(false).sync, false);
});
