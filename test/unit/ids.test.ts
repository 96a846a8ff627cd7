import test from 'ava';
import { newUlid } from '../../src/core/ids.js';

const ALPHABET = /^[0-9A-HJKMNP-TV-Z]{26}$/;

test('newUlid: Crockford base32, 26 chars, time prefix of the given instant, unique across pool refills', (t) => {
  const now = Date.UTC(2026, 10, 23, 10, 30);
  const ids = new Set<string>();
  for (let i = 0; i < 5_000; i++) ids.add(newUlid(now)); // ~20 refills of the random pool
  t.is(ids.size, 5_000);
  for (const id of ids) t.regex(id, ALPHABET);
  const prefixes = new Set([...ids].map((id) => id.slice(0, 10)));
  t.deepEqual([...prefixes], [newUlid(now).slice(0, 10)]);
});

test('newUlid: the random part is spread over the whole alphabet at every position', (t) => {
  const seen = Array.from({ length: 16 }, () => new Set<string>());
  for (let i = 0; i < 4_000; i++) {
    const r = newUlid().slice(10);
    for (let p = 0; p < 16; p++) seen[p]!.add(r[p]!);
  }
  for (const s of seen) t.is(s.size, 32);
});
