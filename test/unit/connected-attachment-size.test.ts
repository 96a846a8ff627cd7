import test from 'ava';
import { randomBytes } from 'node:crypto';
import { estimatedSize } from '../../src/connected/attachments.js';

/** What a server counts as a base64 part's size: the encoded lines of 76 characters, each with its CRLF. */
const encodedSize = (n: number) => randomBytes(n).toString('base64').replace(/.{76}/g, '$&\r\n').length;

test('a base64 part: the decoded size estimated within 1 % from the encoded one', (t) => {
  for (const n of [1_000, 2_345, 10_007, 57 * 1000, 1_000_003, 25 * 1024 * 1024 + 1]) {
    const estimate = estimatedSize(encodedSize(n), 'base64');
    t.true(Math.abs(estimate - n) <= n / 100, `${n} bytes estimated as ${estimate}`);
  }
  t.is(estimatedSize(4000, 'BASE64'), estimatedSize(4000, 'base64'));
});

test('other encodings: the encoded size as it is', (t) => {
  t.is(estimatedSize(1234, '7bit'), 1234);
  t.is(estimatedSize(1234, 'quoted-printable'), 1234);
  t.is(estimatedSize(1234, undefined), 1234);
  t.is(estimatedSize(0, 'base64'), 0);
});
