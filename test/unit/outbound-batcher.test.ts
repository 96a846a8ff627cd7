import test from 'ava';
import { createBatcher } from '../../src/outbound/batcher.js';

test('calls made while a group runs form the next group; answers go back in order; at most maxItems', async (t) => {
  const groups: number[][] = [];
  let release: () => void = () => undefined;
  const run = async (items: number[]) => {
    groups.push(items);
    if (groups.length === 1) await new Promise<void>((r) => (release = r));
    return items.map((i) => i * 10);
  };
  const call = createBatcher(run, 3);
  const first = call(1);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(groups, [[1]], 'the first call runs at once, alone');
  const rest = [2, 3, 4, 5].map(call);
  release();
  t.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40, 50]);
  t.deepEqual(groups, [[1], [2, 3, 4], [5]]);
});

test('a group that fails fails each of its calls, and the next group still runs', async (t) => {
  let n = 0;
  const call = createBatcher(async (items: string[]) => {
    if (n++ === 0) throw new Error('deadlock');
    return items;
  });
  const failed = [call('a'), call('b')];
  for (const p of failed) await t.throwsAsync(p, { message: 'deadlock' });
  t.is(await call('c'), 'c');
});
