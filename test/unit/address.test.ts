import test from 'ava';
import { asciiDomain, domainOf, normalizeAddress } from '../../src/core/address.js';
import { loadConfig } from '../../src/core/config.js';

test('normalizeAddress: one spelling per mailbox (case, spaces, quoted local part, IDN domain)', (t) => {
  t.is(normalizeAddress(' Box@Mailwright.TEST '), 'box@mailwright.test');
  t.is(normalizeAddress('"box"@mailwright.test'), 'box@mailwright.test', 'a quoted local part is the same mailbox (RFC 5321 4.1.2)');
  t.is(normalizeAddress('"a\\"b"@x.test'), 'a"b@x.test', 'quoted-pair escapes are undone');
  t.is(normalizeAddress('"a@b"@x.test'), 'a@b@x.test', 'the domain follows the last @');
  t.is(normalizeAddress('box@bücher.test'), 'box@xn--bcher-kva.test');
  t.is(normalizeAddress('box@XN--BCHER-KVA.test'), 'box@xn--bcher-kva.test');
  t.is(normalizeAddress('no-at-sign'), 'no-at-sign');
});

test('domainOf and asciiDomain give the punycode form MAIL_DOMAINS uses', (t) => {
  t.is(domainOf('x@Bücher.Test'), 'xn--bcher-kva.test');
  t.is(asciiDomain(' MailWright.test '), 'mailwright.test');
  t.deepEqual(loadConfig({ MAIL_DOMAINS: 'bücher.test, Mailwright.test' }).mail.domains, ['xn--bcher-kva.test', 'mailwright.test']);
});
