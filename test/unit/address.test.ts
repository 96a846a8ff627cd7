import test from 'ava';
import { asciiDomain, domainOf, normalizeAddress, splitTag } from '../../src/core/address.js';
import { loadConfig } from '../../src/core/config.js';

test('normalizeAddress: one spelling per mailbox (case, spaces, quoted local part, IDN domain)', (t) => {
  t.is(normalizeAddress(' Box@Mailwright.TEST '), 'box@mailwright.test');
  t.is(
    normalizeAddress('"box"@mailwright.test'),
    'box@mailwright.test',
    'a quoted local part is the same mailbox (RFC 5321 4.1.2)',
  );
  t.is(normalizeAddress('"a\\"b"@x.test'), 'a"b@x.test', 'quoted-pair escapes are undone');
  t.is(normalizeAddress('"a@b"@x.test'), 'a@b@x.test', 'the domain follows the last @');
  t.is(normalizeAddress('box@bücher.test'), 'box@xn--bcher-kva.test');
  t.is(normalizeAddress('box@XN--BCHER-KVA.test'), 'box@xn--bcher-kva.test');
  t.is(normalizeAddress('no-at-sign'), 'no-at-sign');
});

test('domainOf and asciiDomain give the punycode form MAIL_DOMAINS uses', (t) => {
  t.is(domainOf('x@Bücher.Test'), 'xn--bcher-kva.test');
  t.is(asciiDomain(' MailWright.test '), 'mailwright.test');
  t.deepEqual(loadConfig({ MAIL_DOMAINS: 'bücher.test, Mailwright.test' }).mail.domains, [
    'xn--bcher-kva.test',
    'mailwright.test',
  ]);
});

test('splitTag: box+tag@d is the mailbox box@d with the tag; the separator is configurable and can be off', (t) => {
  t.deepEqual(splitTag('box+signup@mw.test', '+'), { address: 'box@mw.test', tag: 'signup' });
  t.deepEqual(splitTag('box+a+b@mw.test', '+'), { address: 'box@mw.test', tag: 'a+b' }, 'split at the first separator');
  t.deepEqual(splitTag('box+@mw.test', '+'), { address: 'box@mw.test', tag: null }, 'an empty tag is no tag');
  t.deepEqual(
    splitTag('+tag@mw.test', '+'),
    { address: '+tag@mw.test', tag: null },
    'nothing before the separator: not split',
  );
  t.deepEqual(splitTag('box@mw.test', '+'), { address: 'box@mw.test', tag: null });
  t.deepEqual(splitTag('box+tag@mw.test', null), { address: 'box+tag@mw.test', tag: null }, 'off');
  t.deepEqual(splitTag('box-tag@mw.test', '-'), { address: 'box@mw.test', tag: 'tag' });
  t.deepEqual(splitTag('box+tag@mw.test', '-'), { address: 'box+tag@mw.test', tag: null });
  t.deepEqual(
    splitTag(`box+${'t'.repeat(65)}@mw.test`, '+'),
    { address: `box+${'t'.repeat(65)}@mw.test`, tag: null },
    'a tag over 64 characters is not one',
  );
  t.deepEqual(splitTag('"a+b"@x.test'.replace(/"/g, ''), '+'), { address: 'a@x.test', tag: 'b' });
});

test('ADDRESS_TAG_SEPARATOR: + by default, empty turns tags off, one special character only', (t) => {
  t.is(loadConfig({}).mail.tagSeparator, '+');
  t.is(loadConfig({ ADDRESS_TAG_SEPARATOR: '' }).mail.tagSeparator, null);
  t.is(loadConfig({ ADDRESS_TAG_SEPARATOR: '-' }).mail.tagSeparator, '-');
  for (const bad of ['++', 'a', '.', '1', '@', ' + x']) {
    t.throws(() => loadConfig({ ADDRESS_TAG_SEPARATOR: bad }), { message: /ADDRESS_TAG_SEPARATOR/ }, bad);
  }
});
