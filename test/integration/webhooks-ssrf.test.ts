import anyTest, { type TestFn } from 'ava';
import { parseAllowList } from '../../src/core/host-allow-list.js';
import type { Resolver } from '../../src/core/host-guard.js';
import { checkWebhookUrl, webhookGuard } from '../../src/core/webhook-url.js';
import { postWebhook } from '../../src/webhooks/http.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

// Loopback only: 127.0.0.1 is allow-listed, 127.0.0.2 is not (a stand-in for "an address the guard refuses")
const allow = parseAllowList('127.0.0.1', 'WEBHOOK_ALLOW_HOSTS');
const test = anyTest as TestFn<{ allowed: Receiver; refused: Receiver }>;

test.before(async (t) => {
  const big = 'y'.repeat(1024 * 1024);
  const allowed = await startReceiver((_n, r) =>
    r.path === '/redirect'
      ? { status: 302, headers: { location: 'http://127.0.0.1/elsewhere' } }
      : r.path === '/big'
        ? { status: 200, body: big }
        : 204,
  );
  const refused = await startReceiver(() => 200, '127.0.0.2');
  t.context = { allowed, refused };
});
test.after.always(async (t) => {
  await Promise.all([t.context.allowed?.close(), t.context.refused?.close()]);
});

const post = (url: string, resolver?: Resolver) =>
  postWebhook({
    url,
    body: '{}',
    headers: { 'webhook-id': 'evt_1' },
    timeoutMs: 2_000,
    guard: webhookGuard(allow, resolver),
  });

test('a host name is resolved, checked, and connected to at the checked address with Host unchanged', async (t) => {
  const { allowed } = t.context;
  const r = await post(`http://hook.test:${allowed.port}/named`, async () => [{ address: '127.0.0.1', family: 4 }]);
  t.like(r, { statusCode: 204, error: null, refused: false });
  const got = allowed.received.find((x) => x.path === '/named');
  t.is(got?.headers.host, `hook.test:${allowed.port}`);
});

test('DNS rebinding: configuration saw 127.0.0.1, delivery resolves again to 127.0.0.2 and refuses to connect', async (t) => {
  const { refused } = t.context;
  let calls = 0;
  const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
  const url = `http://rebind.test:${refused.port}/x`;
  const configured = await checkWebhookUrl(url, allow, rebinding);
  t.is(configured.checked.address, '127.0.0.1');
  const r = await post(url, rebinding);
  t.like(r, { statusCode: null, refused: true });
  t.regex(r.error ?? '', /^refused: rebind\.test resolves to 127\.0\.0\.2, which is loopback/);
  t.is(refused.received.length, 0, 'nothing reached the refused address');
});

test('one refused address among several refuses the host', async (t) => {
  const r = await post(`http://mixed.test:${t.context.allowed.port}/`, async () => [
    { address: '127.0.0.1', family: 4 },
    { address: '127.0.0.2', family: 4 },
  ]);
  t.true(r.refused);
});

test('IP literal spellings of a refused address are refused without a connection', async (t) => {
  const { refused } = t.context;
  for (const host of ['127.0.0.2', '[::1]', '[::ffff:127.0.0.2]', '2130706434', '0x7f000002', '0177.0.0.2']) {
    const r = await post(`http://${host}:${refused.port}/`);
    t.true(r.refused, host);
    t.is(r.statusCode, null, host);
  }
  t.is(refused.received.length, 0);
});

test('redirects are never followed (3xx is a failure); a large response is read to 64 KB and 1 KB kept', async (t) => {
  const { allowed } = t.context;
  const redirect = await post(`http://127.0.0.1:${allowed.port}/redirect`);
  t.like(redirect, { statusCode: 302, error: 'HTTP 302', refused: false });
  t.false(allowed.received.some((x) => x.path === '/elsewhere'));
  const big = await post(`http://127.0.0.1:${allowed.port}/big`);
  t.is(big.statusCode, 200);
  t.is(big.excerpt?.length, 1024);
});

test('an unresolvable host is a retryable failure, not a refusal', async (t) => {
  const r = await post('http://nowhere.test/', async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
  });
  t.like(r, { statusCode: null, refused: false });
  t.regex(r.error ?? '', /does not resolve/);
});
