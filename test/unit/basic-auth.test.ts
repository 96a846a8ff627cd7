import test from 'ava';
import { parseBasic, safeEqual } from '../../src/ops/basic-auth.js';

test('parseBasic reads user and password, keeping colons in the password', (t) => {
  const h = `Basic ${Buffer.from('ops:a:b c').toString('base64')}`;
  t.deepEqual(parseBasic(h), { user: 'ops', password: 'a:b c' });
});

test('parseBasic rejects missing, non-Basic and colon-less credentials', (t) => {
  t.is(parseBasic(undefined), undefined);
  t.is(parseBasic('Bearer abc'), undefined);
  t.is(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});

test('safeEqual compares values of any length', (t) => {
  t.true(safeEqual('secret', 'secret'));
  t.false(safeEqual('secret', 'secreT'));
  t.false(safeEqual('', 'secret'));
  t.false(safeEqual('secret-but-longer', 'secret'));
});
