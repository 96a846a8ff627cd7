import test from 'ava';
import { BadRequest, MessageTooLarge } from '../../../src/core/errors.js';
import { ingressIdOf } from '../../../src/ingress/ses/handle-sns.js';
import { interpretReceipt } from '../../../src/ingress/ses/ses-receipt.js';
import { sesReceipt } from '../../helpers/sns.js';

const domains = new Set(['mw.test']);
const opts = { domains, maxBytes: 10_000 };
/** 8-bit bytes that are not valid UTF-8 (latin-1 é, a lone 0xff) survive only with BASE64 */
const BINARY = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n\r\nbody\r\n')]);
const TEXT = Buffer.from(
  'Subject: héllo ✓\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline 1\r\n.line 2\n\r\n',
  'utf8',
);

test('BASE64 content decodes to the exact original bytes, 8-bit included', (t) => {
  const r = interpretReceipt(
    JSON.stringify(sesReceipt({ recipients: ['a@mw.test'], source: 's@example.org', raw: BINARY, encoding: 'BASE64' })),
    opts,
  );
  if (r.kind !== 'deliver') return t.fail(r.reason);
  t.true(r.raw.equals(BINARY));
  t.deepEqual(r.to, ['a@mw.test']);
  t.is(r.from, 's@example.org');
});

test('UTF8 content (the default encoding) decodes to its UTF-8 bytes exactly', (t) => {
  const n = sesReceipt({ recipients: ['a@mw.test'], source: 's@example.org', raw: TEXT, encoding: 'UTF8' });
  const r = interpretReceipt(JSON.stringify(n), opts);
  t.true(r.kind === 'deliver' && r.raw.equals(TEXT));
  delete (n.receipt.action as { encoding?: string }).encoding;
  const r2 = interpretReceipt(JSON.stringify(n), opts);
  t.true(r2.kind === 'deliver' && r2.raw.equals(TEXT));
});

test('recipients outside MAIL_DOMAINS are not delivered; none left means nothing to deliver', (t) => {
  const mixed = interpretReceipt(
    JSON.stringify(
      sesReceipt({
        recipients: ['a@mw.test', 'b@elsewhere.example', 'C@MW.TEST'],
        source: '',
        raw: TEXT,
        encoding: 'UTF8',
      }),
    ),
    opts,
  );
  t.like(mixed, { kind: 'deliver', to: ['a@mw.test', 'C@MW.TEST'], foreign: 1, from: null });
  const none = interpretReceipt(
    JSON.stringify(sesReceipt({ recipients: ['b@elsewhere.example'], source: 's@x', raw: TEXT, encoding: 'UTF8' })),
    opts,
  );
  t.like(none, { kind: 'skip', reason: 'no_local_recipients' });
});

test('an S3-action receipt (no inline content) is reported, not delivered', (t) => {
  const r = interpretReceipt(
    JSON.stringify(sesReceipt({ recipients: ['a@mw.test'], source: 's@x', raw: TEXT, encoding: 'UTF8', action: 'S3' })),
    opts,
  );
  t.like(r, { kind: 'skip', reason: 's3_action', detail: { bucketName: 'amzn-s3-demo-bucket' } });
});

test('non-receipts and other actions are skipped', (t) => {
  t.like(interpretReceipt('plain text published to the topic', opts), { kind: 'skip', reason: 'not_a_receipt' });
  t.like(interpretReceipt('{"notificationType":"Bounce"}', opts), { kind: 'skip', reason: 'not_a_receipt' });
  t.like(interpretReceipt('null', opts), { kind: 'skip', reason: 'not_a_receipt' });
  const lambda = sesReceipt({ recipients: ['a@mw.test'], source: 's@x', raw: TEXT, encoding: 'UTF8' });
  lambda.receipt.action = { type: 'Lambda', topicArn: 'x', encoding: 'UTF8' };
  t.like(interpretReceipt(JSON.stringify(lambda), opts), { kind: 'skip', reason: 'no_inline_content' });
});

test('oversized or undecodable content is refused', (t) => {
  const big = Buffer.alloc(10_001, 'a');
  for (const encoding of ['BASE64', 'UTF8'] as const) {
    t.throws(
      () =>
        interpretReceipt(
          JSON.stringify(sesReceipt({ recipients: ['a@mw.test'], source: 's@x', raw: big, encoding })),
          opts,
        ),
      { instanceOf: MessageTooLarge },
    );
  }
  const bad = sesReceipt({ recipients: ['a@mw.test'], source: 's@x', raw: TEXT, encoding: 'BASE64' }) as {
    content?: string;
  };
  bad.content = 'not*base64';
  t.throws(() => interpretReceipt(JSON.stringify(bad), opts), { instanceOf: BadRequest });
});

test('ingress ids come from the SNS MessageId and never contain ":"', (t) => {
  t.is(ingressIdOf('22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324'), 'ses-22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324');
  const odd = ingressIdOf('a:b/c');
  t.regex(odd, /^ses-h[0-9a-f]{40}$/);
  t.is(ingressIdOf('a:b/c'), odd);
  t.not(ingressIdOf('a:b/d'), odd);
});
