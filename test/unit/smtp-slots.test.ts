import test from 'ava';
import { createSlots } from '../../src/ingress/smtp/slots.js';

const clock = () => {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

test('one address holds at most maxPerAddress sessions; a release frees one', (t) => {
  const slots = createSlots({ maxClients: 100, maxPerAddress: 3, reserved: 0, evictIdleMs: 0 });
  for (let i = 0; i < 3; i++) t.true(slots.admit(`a${i}`, '10.0.0.1').ok);
  t.deepEqual(slots.admit('a3', '10.0.0.1'), { ok: false, reason: 'per_address', held: 3 });
  t.true(slots.admit('b0', '10.0.0.2').ok, 'another address is not affected');
  slots.release('a0');
  slots.release('a0'); // idempotent
  t.is(slots.held('10.0.0.1'), 2);
  t.true(slots.admit('a4', '10.0.0.1').ok);
});

test('the reserved sessions go only to addresses that hold none', (t) => {
  const slots = createSlots({ maxClients: 10, maxPerAddress: 10, reserved: 3, evictIdleMs: 60_000 });
  for (let i = 0; i < 7; i++) t.true(slots.admit(`a${i}`, '10.0.0.1').ok);
  t.deepEqual(slots.admit('a7', '10.0.0.1'), { ok: false, reason: 'reserved', held: 7 });
  for (const n of [2, 3, 4]) t.true(slots.admit(`n${n}`, `10.0.0.${n}`).ok, `new address ${n} gets a reserved session`);
  t.is(slots.held(), 10);
  // full, nobody idle long enough: refused
  t.deepEqual(slots.admit('n5', '10.0.0.5'), { ok: false, reason: 'full', held: 0 });
});

test('a full server closes the idlest session that is not busy, if idle long enough', (t) => {
  const c = clock();
  const slots = createSlots({ maxClients: 3, maxPerAddress: 3, reserved: 0, evictIdleMs: 1_000, now: c.now });
  slots.admit('old', '10.0.0.1');
  c.advance(10);
  slots.admit('receiving', '10.0.0.1');
  slots.busy('receiving', true);
  c.advance(10);
  slots.admit('recent', '10.0.0.2');
  c.advance(500);
  t.deepEqual(slots.admit('x', '10.0.0.3'), { ok: false, reason: 'full', held: 0 }, 'nobody idle for 1 s yet');
  c.advance(2_000);
  slots.touch('old'); // a reply: 'old' is now the most recently active
  c.advance(1_000);
  const admitted = slots.admit('x', '10.0.0.3');
  t.like(admitted, { ok: true, evicted: { id: 'recent', address: '10.0.0.2' } }, 'the idlest, never the busy one');
  t.is(slots.held('10.0.0.2'), 0);
  t.is(slots.held(), 3);
  c.advance(5_000);
  slots.busy('receiving', false);
  t.like(slots.admit('y', '10.0.0.4'), { ok: true, evicted: { id: 'old' } });
});
