import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { Unavailable } from '../../../src/core/errors.js';
import { HttpStatusError } from '../../../src/ingress/ses/https-get.js';
import { createSnsVerifier } from '../../../src/ingress/ses/sns-verifier.js';
import { canonicalString, signingCertUrl, SnsRejected, type SnsMessage } from '../../../src/ingress/ses/verify-sns.js';
import {
  CERT_URL,
  confirmation,
  createSigner,
  notification,
  recordingFetch,
  signed,
  TOPIC,
  type SnsSigner,
} from '../../helpers/sns.js';

const test = anyTest as TestFn<{ signer: SnsSigner }>;
test.before(async (t) => {
  t.context.signer = await createSigner();
});

const verifierFor = (signer: SnsSigner, cacheSize = 4) => {
  const rec = recordingFetch(signer);
  return { ...rec, verifier: createSnsVerifier({ topicArns: [TOPIC], fetch: rec.fetch, cacheSize }) };
};
const rejection = async (t: ExecutionContext<unknown>, p: Promise<unknown>, reason: string) => {
  const err = await t.throwsAsync(p, { instanceOf: SnsRejected });
  t.is(err?.reason, reason, err?.message);
};

test('canonical strings follow AWS field order for each message type', (t) => {
  const base = {
    MessageId: 'id-1',
    TopicArn: TOPIC,
    Message: 'hello\nworld',
    Timestamp: '2026-01-01T00:00:00.000Z',
    SignatureVersion: '1',
    Signature: 'x',
    SigningCertURL: CERT_URL,
  };
  t.is(
    canonicalString({ ...base, Type: 'Notification', Subject: 'Subj' }),
    `Message\nhello\nworld\nMessageId\nid-1\nSubject\nSubj\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
  );
  t.is(
    canonicalString({ ...base, Type: 'Notification' }),
    `Message\nhello\nworld\nMessageId\nid-1\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
  );
  t.is(
    canonicalString({
      ...base,
      Type: 'SubscriptionConfirmation',
      SubscribeURL: 'https://s/',
      Token: 'tok',
      UnsubscribeURL: 'ignored',
    }),
    `Message\nhello\nworld\nMessageId\nid-1\nSubscribeURL\nhttps://s/\nTimestamp\n2026-01-01T00:00:00.000Z\nToken\ntok\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`,
  );
});

test('valid SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA) messages verify', async (t) => {
  const { verifier, calls } = verifierFor(t.context.signer);
  await t.notThrowsAsync(verifier.verify(notification(t.context.signer, 'm', { SignatureVersion: '1' })));
  await t.notThrowsAsync(verifier.verify(notification(t.context.signer, 'm', { SignatureVersion: '2' })));
  await t.notThrowsAsync(verifier.verify(confirmation(t.context.signer, 'SubscriptionConfirmation')));
  t.deepEqual(calls, [CERT_URL]); // one certificate fetch, then the cache
});

test('a forged body, a wrong signature or a signature of the other version is refused', async (t) => {
  const { signer } = t.context;
  const { verifier } = verifierFor(signer);
  const good = notification(signer, '{"a":1}');
  await rejection(t, verifier.verify({ ...good, Message: '{"a":2}' }), 'bad_signature');
  await rejection(
    t,
    verifier.verify({ ...good, TopicArn: TOPIC, Timestamp: new Date(0).toISOString() }),
    'bad_signature',
  );
  await rejection(t, verifier.verify({ ...good, Signature: Buffer.alloc(256, 7).toString('base64') }), 'bad_signature');
  await rejection(t, verifier.verify({ ...good, SignatureVersion: '1' }), 'bad_signature'); // signed as v2
  const other = await createSigner();
  await rejection(t, verifier.verify(signed(other, notification(signer, '{"a":1}'))), 'bad_signature');
});

test('unknown versions, untrusted certificate URLs and other topics are refused before any fetch', async (t) => {
  const { signer } = t.context;
  const { verifier, calls } = verifierFor(signer);
  await rejection(
    t,
    verifier.verify(notification(signer, 'm', { SignatureVersion: '3' })),
    'unknown_signature_version',
  );
  await rejection(t, verifier.verify(notification(signer, 'm', { SignatureVersion: '' })), 'unknown_signature_version');
  await rejection(
    t,
    verifier.verify(notification(signer, 'm', { TopicArn: 'arn:aws:sns:us-east-1:123456789012:other' })),
    'topic_not_allowed',
  );
  await rejection(
    t,
    verifier.verify(notification(signer, 'm', { SigningCertURL: 'http://sns.us-east-1.amazonaws.com/x.pem' })),
    'untrusted_url',
  );
  await rejection(
    t,
    verifier.verify(
      notification(signer, 'm', { SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.test/x.pem' }),
    ),
    'untrusted_url',
  );
  await rejection(
    t,
    verifier.verify(
      confirmation(signer, 'SubscriptionConfirmation', {
        SubscribeURL: 'https://evil.test/?Action=ConfirmSubscription',
      }),
    ),
    'untrusted_url',
  );
  await rejection(
    t,
    verifier.verify(
      confirmation(signer, 'SubscriptionConfirmation', {
        SubscribeURL:
          'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:other&Token=x',
      }),
    ),
    'untrusted_url',
  );
  t.deepEqual(calls, []);
});

const LOOK_ALIKES = [
  'http://sns.us-east-1.amazonaws.com/x.pem',
  'https://sns.us-east-1.amazonaws.com/x.txt',
  'https://sns.us-east-1.amazonaws.com/x.pem?x=1',
  'https://sns.us-east-1.amazonaws.com/x.pem#f',
  'https://sns.us-east-1.amazonaws.com.evil.test/x.pem',
  'https://sns.us-east-1.amazonaws.com.cn.evil.test/x.pem',
  'https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/x.pem',
  'https://sns-us-east-1.amazonaws.com/x.pem',
  'https://evilsns.us-east-1.amazonaws.com/x.pem',
  'https://sns.amazonaws.com/x.pem',
  'https://sns.us-east-1.evil.amazonaws.com/x.pem',
  'https://sns.us-east-1.amazonaws.com@evil.test/x.pem',
  'https://evil.test@sns.us-east-1.amazonaws.com/x.pem',
  'https://user:pw@sns.us-east-1.amazonaws.com/x.pem',
  'https://sns.us-east-1.amazonaws.com:8443/x.pem',
  'https://sns.us-east-1.amazonaws.com:443/x.pem',
  'https://sns.us-east-1.amazonaws.com\\@evil.test/x.pem',
  'https://sns.us-east-1.amazonaws.com%2eevil.test/x.pem',
  'https://sns.us-east-1.amazon\taws.com/x.pem',
  'https:sns.us-east-1.amazonaws.com/x.pem',
  '//sns.us-east-1.amazonaws.com/x.pem',
  'not a url',
];

test('certificate URL rules: only https://sns.<region>.amazonaws.com(.cn)/….pem', (t) => {
  for (const url of LOOK_ALIKES) t.throws(() => signingCertUrl(url), { instanceOf: SnsRejected }, url);
  for (const url of [
    CERT_URL,
    'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem',
    'https://sns.us-gov-west-1.amazonaws.com/a/b.pem',
  ]) {
    t.is(signingCertUrl(url).href, url);
  }
});

test('certificates are cached (bounded), concurrent misses share one fetch', async (t) => {
  const { signer } = t.context;
  const { verifier, calls } = verifierFor(signer, 2);
  const url = (n: number) => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${n}.pem`;
  await Promise.all([1, 1, 1].map(() => verifier.verify(notification(signer, 'm', { SigningCertURL: url(1) }))));
  t.deepEqual(calls, [url(1)]);
  for (const n of [2, 3]) await verifier.verify(notification(signer, 'm', { SigningCertURL: url(n) }));
  t.is(verifier.cachedCertificates(), 2);
  await verifier.verify(notification(signer, 'm', { SigningCertURL: url(1) })); // evicted: fetched again
  t.deepEqual(calls, [url(1), url(2), url(3), url(1)]);
});

test('a certificate host that answers 404 is a refusal, a network failure is retryable; neither is cached', async (t) => {
  const { signer } = t.context;
  let failure: Error = new HttpStatusError(404, 'sns.us-east-1.amazonaws.com');
  let fetches = 0;
  const verifier = createSnsVerifier({
    topicArns: [TOPIC],
    cacheSize: 4,
    fetch: async () => {
      fetches++;
      throw failure;
    },
  });
  await rejection(t, verifier.verify(notification(signer, 'm')), 'certificate_not_found');
  failure = new Error('ECONNRESET');
  await t.throwsAsync(verifier.verify(notification(signer, 'm')), { instanceOf: Unavailable });
  t.is(fetches, 2);
  t.is(verifier.cachedCertificates(), 0);
});

test('an expired certificate or a non-certificate is refused', async (t) => {
  const { signer } = t.context;
  const rec = recordingFetch(signer);
  const later = createSnsVerifier({
    topicArns: [TOPIC],
    fetch: rec.fetch,
    cacheSize: 4,
    now: () => new Date(Date.now() + 30 * 86_400_000),
  });
  await rejection(t, later.verify(notification(signer, 'm')), 'bad_certificate');
  const junk = createSnsVerifier({ topicArns: [TOPIC], fetch: async () => 'not a certificate', cacheSize: 4 });
  await rejection(t, junk.verify(notification(signer, 'm')), 'bad_certificate');
});

test('messages missing signature fields are unsigned', async (t) => {
  const { asSnsMessage } = await import('../../../src/ingress/ses/verify-sns.js');
  const m = notification(t.context.signer, 'm') as Partial<SnsMessage>;
  t.is(t.throws(() => asSnsMessage({ ...m, Signature: undefined }), { instanceOf: SnsRejected })?.reason, 'unsigned');
  t.is(t.throws(() => asSnsMessage({ ...m, SigningCertURL: '' }), { instanceOf: SnsRejected })?.reason, 'unsigned');
  t.is(t.throws(() => asSnsMessage({ ...m, Type: 'Other' }), { instanceOf: SnsRejected })?.reason, 'unknown_type');
  t.is(t.throws(() => asSnsMessage([m]), { instanceOf: SnsRejected })?.reason, 'not_sns');
});
