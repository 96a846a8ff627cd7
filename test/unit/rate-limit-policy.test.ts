import test from 'ava';
import { rateLimitHeaders, tightest, type Decision } from '../../src/access/rate-limit.js';
import { clientIp } from '../../src/access/request-limits.js';

const d = (over: Partial<Decision>): Decision => ({
  allowed: true,
  limit: 100,
  remaining: 50,
  resetS: 30,
  counted: true,
  ...over,
});

test('the advertised budget is a refusal if any, else the one closest to running out', (t) => {
  const ip = d({ limit: 600, remaining: 590 });
  const key = d({ limit: 10, remaining: 2 });
  t.is(tightest([ip, key]), key);
  const refused = d({ allowed: false, limit: 600, remaining: 0, resetS: 12 });
  t.is(tightest([refused, key]), refused);
  t.is(tightest([]), undefined);
});

test('headers: RateLimit-* always, Retry-After only on a refusal', (t) => {
  t.deepEqual(rateLimitHeaders(d({})), {
    'RateLimit-Limit': '100',
    'RateLimit-Remaining': '50',
    'RateLimit-Reset': '30',
  });
  t.is(rateLimitHeaders(d({ allowed: false, remaining: 0, resetS: 7 }))['Retry-After'], '7');
});

test('client IP: the entry our proxy appended, never one the client wrote', (t) => {
  const ctx = (xff: string) =>
    ({ get: (h: string) => (h === 'x-forwarded-for' ? xff : ''), socket: { remoteAddress: '10.0.0.1' } }) as never;
  t.is(clientIp(ctx('6.6.6.6, 198.51.100.7'), 1), '198.51.100.7');
  t.is(clientIp(ctx('6.6.6.6, 198.51.100.7, 10.1.1.1'), 2), '198.51.100.7');
  t.is(clientIp(ctx('6.6.6.6'), 0), '10.0.0.1', 'no trusted proxy: the socket');
  t.is(clientIp(ctx(''), 1), '10.0.0.1', 'no header: the socket');
});
