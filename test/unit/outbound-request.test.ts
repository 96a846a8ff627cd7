import test from 'ava';
import { BadRequest } from '../../src/core/errors.js';
import { parseAddress } from '../../src/outbound/addresses.js';
import { envelopeFrom } from '../../src/outbound/envelope.js';
import { checkSendBody, SendBody } from '../../src/outbound/request.js';
import { canonicalJson } from '../../src/api/idempotency.js';
import { verifyVerpAddress } from '../../src/core/verp.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof BadRequest ? err.code : `not a BadRequest: ${String(err)}`;
  }
  return 'accepted';
};

test('addresses: forms accepted and how they are kept', (t) => {
  t.deepEqual(parseAddress('ann@example.org', 'to'), { address: 'ann@example.org', name: null });
  t.deepEqual(parseAddress(' Ann Example <Ann@Example.ORG> ', 'to'), {
    address: 'Ann@example.org',
    name: 'Ann Example',
  });
  t.deepEqual(parseAddress('"Doe, Jane" <j@example.org>', 'to'), { address: 'j@example.org', name: 'Doe, Jane' });
  t.deepEqual(parseAddress('"a b"@example.org', 'to'), { address: '"a b"@example.org', name: null });
  t.deepEqual(parseAddress('x@bücher.example', 'to'), { address: 'x@xn--bcher-kva.example', name: null });
  t.deepEqual(parseAddress("o'brien+tag@sub.example.org", 'to').address, "o'brien+tag@sub.example.org");
});

test('addresses: refused, with the code the issue names', (t) => {
  for (const bad of [
    'plain',
    '@example.org',
    'a@',
    'a@localhost',
    'a..b@example.org',
    '.a@example.org',
    'a b@example.org',
    `${'a'.repeat(65)}@example.org`,
    'ü@example.org',
    'a@exa_mple.org',
    'a@-example.org',
    'Name <>',
    '"unterminated@example.org',
  ])
    t.is(
      code(() => parseAddress(bad, 'to')),
      'invalid_address',
      bad,
    );
  t.is(
    code(() => parseAddress(`${'a'.repeat(64)}@example.org`, 'to')),
    'accepted',
  );
  for (const bad of ['a@example.org\r\nBcc: x@example.org', 'a\n@example.org', 'a@example.org\u0000'])
    t.is(
      code(() => parseAddress(bad, 'to')),
      'invalid_header',
      JSON.stringify(bad),
    );
});

test('recipients: distinct across to, cc, bcc case-insensitively, first one wins, in order', (t) => {
  const r = checkSendBody(
    SendBody.parse({
      to: ['A@example.org', 'b@example.org'],
      cc: 'a@EXAMPLE.org',
      bcc: ['c@example.org', 'B@example.org'],
      subject: 's',
      text: 't',
    }),
    50,
  );
  t.deepEqual(
    r.recipients.map((x) => [x.address, x.type]),
    [
      ['A@example.org', 'to'],
      ['b@example.org', 'to'],
      ['c@example.org', 'bcc'],
    ],
  );
  t.is(
    code(() => checkSendBody(SendBody.parse({ to: ['a@example.org', 'b@example.org'], subject: 's', text: 't' }), 1)),
    'too_many_recipients',
  );
  t.is(
    code(() => checkSendBody(SendBody.parse({ to: ['a@example.org', 'A@example.org'], subject: 's', text: 't' }), 1)),
    'accepted',
  );
});

test('headers: names, reserved names and count', (t) => {
  const body = (headers: Record<string, string>) =>
    SendBody.parse({ to: 'a@example.org', subject: 's', text: 't', headers });
  t.is(
    code(() => checkSendBody(body({ 'X-Run-Id': '42', 'List-Unsubscribe': '<mailto:u@example.org>' }), 5)),
    'accepted',
  );
  for (const name of [
    'Sender',
    'reply-to',
    'MESSAGE-ID',
    'Return-Path',
    'MIME-Version',
    'Content-Disposition',
    'Received',
    'Bcc',
  ])
    t.is(
      code(() => checkSendBody(body({ [name]: 'x' }), 5)),
      'invalid_header',
      name,
    );
  t.is(
    code(() => checkSendBody(body({ 'X:Y': '1' }), 5)),
    'invalid_header',
  );
  t.is(
    code(() => checkSendBody(body({ ['X'.repeat(76)]: '1' }), 5)),
    'accepted',
  );
  t.is(
    code(() => checkSendBody(body(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-${i}`, '1']))), 5)),
    'accepted',
  );
});

test('envelopeFrom: the mailbox address without a bounce secret; signed VERP with one', (t) => {
  const id = '0b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57';
  const hosted = { address: 'box@mw.test', kind: 'hosted' as const, bounceVerpDomain: null };
  const connected = { address: 'me@example.org', kind: 'connected' as const, bounceVerpDomain: null };
  const secret = 's'.repeat(40);
  t.is(envelopeFrom({ outboundMessageId: id, mailbox: hosted, mailDomains: ['mw.test'] }), 'box@mw.test');
  const verp = envelopeFrom({ outboundMessageId: id, mailbox: hosted, mailDomains: ['mw.test', 'b.test'] }, secret);
  t.regex(verp, /^bounce\+0b7c2a4e-59f1-4d3a-8e2b-6a1c9d0f3e57\.[0-9a-f]{16}@mw\.test$/);
  t.deepEqual(verifyVerpAddress(verp, [secret]), { ok: true, id });
  t.is(envelopeFrom({ outboundMessageId: id, mailbox: connected, mailDomains: ['mw.test'] }, secret), 'me@example.org');
  t.regex(
    envelopeFrom(
      {
        outboundMessageId: id,
        mailbox: { ...connected, bounceVerpDomain: 'bounces.example.org' },
        mailDomains: ['mw.test'],
      },
      secret,
    ),
    /@bounces\.example\.org$/,
  );
});

test('canonical JSON: key order does not matter, values do', (t) => {
  t.is(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] }), canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
  t.not(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  t.not(canonicalJson({ a: '1' }), canonicalJson({ a: 1 }));
});
