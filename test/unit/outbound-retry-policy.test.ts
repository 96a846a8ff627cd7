import test from 'ava';
import { classifyFailure, retryDelayMs } from '../../src/outbound/retry-policy.js';

test('5xx on MAIL, RCPT or DATA is permanent; 4xx and connection errors are transient', (t) => {
  const cases: Array<[unknown, 'permanent' | 'transient', RegExp]> = [
    [
      {
        code: 'EENVELOPE',
        command: 'RCPT TO',
        rejectedErrors: [{ responseCode: 550, response: '550 5.1.1 No such user' }],
      },
      'permanent',
      /^550 5\.1\.1/,
    ],
    [
      { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 553, response: '553 sender refused' },
      'permanent',
      /^553/,
    ],
    [{ code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 5.7.1 spam' }, 'permanent', /^554/],
    [
      { code: 'EENVELOPE', rejectedErrors: [{ responseCode: 451, response: '451 4.7.1 Greylisted' }] },
      'transient',
      /^451/,
    ],
    [{ code: 'EMESSAGE', responseCode: 452, response: '452 4.3.1 full' }, 'transient', /^452/],
    [
      { code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:25' },
      'transient',
      /^ECONNECTION: connect ECONNREFUSED/,
    ],
    [{ code: 'ETIMEDOUT', message: 'Timeout' }, 'transient', /ETIMEDOUT/],
    [{ code: 'ESOCKET', message: 'socket hang up' }, 'transient', /hang up/],
    [new Error('Connection closed unexpectedly'), 'transient', /closed/],
    [undefined, 'transient', /unknown error/],
  ];
  for (const [err, kind, response] of cases) {
    const v = classifyFailure(err);
    t.is(v.kind, kind, JSON.stringify(err));
    t.regex(v.response, response);
  }
});

test('the server text is one line of at most 1,000 characters', (t) => {
  const v = classifyFailure({ responseCode: 550, response: `550-first\r\n550 ${'x'.repeat(2000)}` });
  t.false(v.response.includes('\n'));
  t.is(v.response.length, 1000);
});

test('backoff: base × 2^(n−1) ±20 %, capped', (t) => {
  const base = 30_000;
  const max = 3_600_000;
  t.is(
    retryDelayMs(1, base, max, () => 0.5),
    30_000,
  );
  t.is(
    retryDelayMs(2, base, max, () => 0.5),
    60_000,
  );
  t.is(
    retryDelayMs(4, base, max, () => 0.5),
    240_000,
  );
  t.is(
    retryDelayMs(1, base, max, () => 0),
    24_000,
    '−20 %',
  );
  t.is(
    retryDelayMs(1, base, max, () => 0.999999),
    36_000,
    '+20 %',
  );
  t.is(
    retryDelayMs(9, base, max, () => 0.5),
    max,
    'capped',
  );
  t.is(
    retryDelayMs(500, base, max, () => 0.5),
    max,
    'no overflow',
  );
  const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, base, max)));
  t.true(seen.size > 1, 'jitter spreads retries');
  for (const v of seen) t.true(v >= 96_000 && v <= 144_000);
});
