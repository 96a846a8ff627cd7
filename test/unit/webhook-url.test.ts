import test from 'ava';
import { parseAllowList } from '../../src/core/host-allow-list.js';
import { HostForbidden, HostUnresolvable, type Resolver } from '../../src/core/host-guard.js';
import {
  checkWebhookUrl,
  parseWebhookUrl,
  precheckWebhookUrl,
  WEBHOOK_URL_MAX_LENGTH,
  WebhookUrlInvalid,
} from '../../src/core/webhook-url.js';

/** A resolver that must not be asked: IP literal hosts are judged without DNS. */
const noDns: Resolver = (host) => Promise.reject(new Error(`unexpected DNS lookup of ${host}`));
const answering =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const onlyLocalhost = parseAllowList('127.0.0.1');

test('issue 22 loopback spellings are refused with an allow-list of 127.0.0.1 only; 127.0.0.1 itself passes', async (t) => {
  const cases: [string, string, string][] = [
    ['http://127.0.0.2/hook', '127.0.0.2', 'loopback'],
    ['http://[::1]/hook', '::1', 'loopback'],
    ['http://[::ffff:127.0.0.2]/hook', '::ffff:7f00:2', 'loopback'],
    ['http://2130706434/hook', '127.0.0.2', 'loopback'],
    ['http://0x7f000002/hook', '127.0.0.2', 'loopback'],
    ['http://0177.0.0.2/hook', '127.0.0.2', 'loopback'],
    ['https://127.1/', '127.0.0.1', ''],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1', ''],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'metadata'],
    ['http://10.0.0.1:8080/', '10.0.0.1', 'private'],
    ['http://[64:ff9b::7f00:2]/', '64:ff9b::7f00:2', 'loopback'],
  ];
  for (const [url, address, range] of cases) {
    if (range === '') {
      t.is(
        (await checkWebhookUrl(url, onlyLocalhost, noDns)).checked.address,
        address,
        `${url} is the listed 127.0.0.1`,
      );
      continue;
    }
    const err = await t.throwsAsync(checkWebhookUrl(url, onlyLocalhost, noDns), { instanceOf: HostForbidden }, url);
    t.is(err?.code, 'webhook_url_forbidden');
    t.is(err?.status, 422);
    t.is(err?.verdict.address, address, url);
    t.is(String(err?.verdict.denied?.name), range, url);
    t.regex(err?.message ?? '', new RegExp(`^${address.replace(/\./g, '\\.')} is ${range} \\(`), url);
    t.throws(() => precheckWebhookUrl(url, onlyLocalhost), { instanceOf: HostForbidden }, 'no DNS needed for literals');
  }
});

test('only http(s), no userinfo, at most 2048 characters after normalisation: webhook_url_invalid', (t) => {
  const base = 'https://hooks.example.com/';
  const atLimit = base + 'a'.repeat(WEBHOOK_URL_MAX_LENGTH - base.length);
  t.is(parseWebhookUrl(atLimit).url.href.length, 2048);
  t.is(parseWebhookUrl('HTTPS://Hooks.Example.COM:443/x').url.href, 'https://hooks.example.com/x');
  const invalid: [string, string][] = [
    [`${atLimit}a`, 'url is longer than 2048 characters'],
    [base + '\u00e9'.repeat(700), 'url is longer than 2048 characters'],
    ['ftp://hooks.example.com/', 'url must use http or https'],
    ['javascript:alert(1)', 'url must use http or https'],
    ['file:///etc/passwd', 'url must use http or https'],
    ['hooks.example.com/x', 'url is not an absolute URL'],
    ['http://', 'url is not an absolute URL'],
    ['http://user:pw@hooks.example.com/', 'url must not contain a user name or password'],
    ['http://user@hooks.example.com/', 'url must not contain a user name or password'],
    ['http://:pw@hooks.example.com/', 'url must not contain a user name or password'],
    ['http://[::1/', 'url is not an absolute URL'],
    ['http://0x1.0x2.0x3.0x4.0x5/', 'url is not an absolute URL'],
  ];
  for (const [url, message] of invalid) {
    const err = t.throws(() => parseWebhookUrl(url), { instanceOf: WebhookUrlInvalid }, url);
    t.is(err?.code, 'webhook_url_invalid');
    t.is(err?.status, 422);
    t.is(err?.message, message, url);
  }
});

test('a host name is resolved: every address must pass; none → webhook_url_unresolvable', async (t) => {
  const none = parseAllowList('');
  const ok = await checkWebhookUrl('https://hooks.example.com/x', none, answering('8.8.8.8', '2606:4700:4700::1111'));
  t.deepEqual(ok.checked, {
    host: 'hooks.example.com',
    address: '8.8.8.8',
    family: 4,
    addresses: [
      { address: '8.8.8.8', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ],
  });
  const mixed = await t.throwsAsync(
    checkWebhookUrl('https://hooks.example.com/', none, answering('8.8.8.8', '10.1.2.3')),
    {
      instanceOf: HostForbidden,
    },
  );
  t.is(mixed?.message, 'hooks.example.com resolves to 10.1.2.3, which is private (10.0.0.0/8); not allowed');
  const empty = await t.throwsAsync(checkWebhookUrl('https://nothing.example.com/', none, answering()), {
    instanceOf: HostUnresolvable,
  });
  t.is(empty?.code, 'webhook_url_unresolvable');
  t.is(empty?.status, 422);
  t.true(precheckWebhookUrl('http://localhost:3000/', onlyLocalhost).host === 'localhost', 'names wait for DNS');
  await t.throwsAsync(checkWebhookUrl('http://localhost:3000/', onlyLocalhost, answering('::1', '127.0.0.1')), {
    instanceOf: HostForbidden,
    message: 'localhost resolves to ::1, which is loopback (::1/128); not allowed',
  });
  const listedName = parseAllowList('hooks.internal.test');
  const internal = await checkWebhookUrl('http://Hooks.Internal.Test/x', listedName, answering('10.1.2.3'));
  t.is(internal.checked.address, '10.1.2.3', 'a listed host name may resolve to a private address');
});
