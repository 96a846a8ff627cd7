import test from 'ava';
import { createByteBudget } from '../../src/pipeline/byte-budget.js';

const tick = () => new Promise((r) => setImmediate(r));

test('admits while the bytes fit; the next waits until room is given back', async (t) => {
  const b = createByteBudget(100);
  const r1 = await b.acquire(60);
  let second: (() => void) | undefined;
  void b.acquire(60).then((r) => (second = r));
  await tick();
  t.is(second, undefined, 'does not fit beside the first');
  t.is(b.inFlight, 60);
  t.is(b.waiting, 1);
  r1();
  r1(); // idempotent
  await tick();
  t.truthy(second);
  t.is(b.inFlight, 60);
  t.is(b.peak, 60);
});

test('a message larger than the budget runs alone once nothing else is in flight', async (t) => {
  const b = createByteBudget(100);
  const small = await b.acquire(10);
  let huge: (() => void) | undefined;
  void b.acquire(500).then((r) => (huge = r));
  await tick();
  t.is(huge, undefined);
  small();
  await tick();
  t.truthy(huge);
  t.is(b.peak, 500);
});

test('small mail overtakes large mail waiting for room (first fit), until a waiter was passed over too often', async (t) => {
  const b = createByteBudget(100, { maxPassOvers: 2 });
  const first = await b.acquire(70);
  const order: string[] = [];
  void b.acquire(50).then(() => order.push('large'));
  await tick();
  for (const name of ['s1', 's2', 's3']) void b.acquire(10).then(() => order.push(name));
  await tick();
  // s1 and s2 overtook the large one; it has now been passed over twice, so s3 waits behind it
  t.deepEqual(order, ['s1', 's2']);
  first();
  await tick();
  t.deepEqual(order, ['s1', 's2', 'large', 's3']);
});

test('pressure: on while the waiting jobs hold a budget of bytes or more, off once they hold less', async (t) => {
  const calls: boolean[] = [];
  const b = createByteBudget(100, { onPressure: (w) => calls.push(w) });
  const r = await b.acquire(90);
  const waiting = [b.acquire(60), b.acquire(60)];
  await tick();
  t.deepEqual(calls, [true], '120 bytes waiting');
  t.is(b.waitingBytes, 120);
  r();
  await tick();
  t.deepEqual(calls, [true, false], 'one admitted, 60 waiting');
  (await waiting[0]!)();
  (await waiting[1]!)();
  t.is(b.inFlight, 0);
});
