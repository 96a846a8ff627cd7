import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import test from 'ava';
import { parseAllowList } from '../../src/core/host-allow-list.js';
import {
  guardedLookup,
  HostForbidden,
  HostUnresolvable,
  resolveChecked,
  type HostGuard,
  type Resolver,
} from '../../src/core/host-guard.js';
import { webhookGuard } from '../../src/core/webhook-url.js';

// Resolvers are injected and the lookup function is mostly called directly; the one test that hands it to
// net/http makes no connection (the lookup refuses first), and could only ever reach 127.0.0.1 if it did.

type Answer = { address: string; family: number };
const answering =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

/** Answers a public address on the first call and loopback afterwards: a DNS rebinding attack. */
function rebinding(): Resolver & { calls: number } {
  const resolver = Object.assign(
    async (): Promise<Answer[]> => {
      resolver.calls += 1;
      return [{ address: resolver.calls === 1 ? '8.8.8.8' : '127.0.0.1', family: 4 }];
    },
    { calls: 0 },
  );
  return resolver;
}

const imapGuard = (allow: string, resolver: Resolver): HostGuard => ({
  policy: 'connected',
  allow: parseAllowList(allow, 'CONNECTED_ALLOW_HOSTS'),
  resolver,
  codes: { forbidden: 'imap_host_forbidden', unresolvable: 'imap_host_unresolvable' },
});

/** Calls a lookup function the way net.connect does and reports what it called back with. */
function callLookup(
  lookup: ReturnType<typeof guardedLookup>,
  host: string,
  options: { all?: boolean; family?: number },
) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>(
    (resolve) => lookup(host, options, (err, address, family) => resolve({ err, address, family })),
  );
}

test('connected policy: a host resolving to a private address is refused with the caller code, naming address and range', async (t) => {
  const err = await t.throwsAsync(resolveChecked(imapGuard('', answering('192.168.1.10')), 'imap.corp.test'), {
    instanceOf: HostForbidden,
  });
  t.is(err?.code, 'imap_host_forbidden');
  t.is(err?.status, 422);
  t.is(err?.message, 'imap.corp.test resolves to 192.168.1.10, which is private (192.168.0.0/16); not allowed');
  const listed = await resolveChecked(imapGuard('192.168.0.0/16', answering('192.168.1.10')), 'imap.corp.test');
  t.is(listed.address, '192.168.1.10');
  const byName = await resolveChecked(imapGuard('IMAP.corp.test', answering('10.0.0.7')), 'imap.corp.test');
  t.is(byName.address, '10.0.0.7');
  await t.throwsAsync(resolveChecked(imapGuard('imap.corp.test', answering('169.254.169.254')), 'imap.corp.test'), {
    instanceOf: HostForbidden,
    message: 'imap.corp.test resolves to 169.254.169.254, which is metadata (169.254.169.254/32); not allowed',
  });
  const documentation = await resolveChecked(imapGuard('', answering('192.0.2.25')), 'mail.example.test');
  t.is(documentation.address, '192.0.2.25', 'the connected policy does not refuse what the webhook one does');
});

test('every resolved address must pass: one bad address among good ones refuses the host', async (t) => {
  const guard = imapGuard('', answering('8.8.8.8', '2606:4700:4700::1111', 'fe80::1'));
  await t.throwsAsync(resolveChecked(guard, 'imap.example.test'), {
    instanceOf: HostForbidden,
    message: 'imap.example.test resolves to fe80::1, which is link-local (fe80::/10); not allowed',
  });
});

test('IP literal hosts (bracketed or not) are judged without asking the resolver', async (t) => {
  const guard = imapGuard('10.0.0.5', () => Promise.reject(new Error('must not resolve')));
  t.is((await resolveChecked(guard, '10.0.0.5')).address, '10.0.0.5');
  await t.throwsAsync(resolveChecked(guard, '[::1]'), {
    instanceOf: HostForbidden,
    message: '::1 is loopback (::1/128); not allowed',
  });
  await t.throwsAsync(resolveChecked(guard, '0.0.0.0'), {
    message: '0.0.0.0 is this-network (0.0.0.0/8); not allowed',
  });
});

test('no address, a DNS failure or a non-address answer: unresolvable (retryable when DNS said try again)', async (t) => {
  const dnsError =
    (code: string): Resolver =>
    () =>
      Promise.reject(Object.assign(new Error(code), { code }));
  const empty = await t.throwsAsync(resolveChecked(imapGuard('', answering()), 'gone.test'), {
    instanceOf: HostUnresolvable,
  });
  t.is(empty?.code, 'imap_host_unresolvable');
  t.is(empty?.message, 'gone.test does not resolve to any address');
  const notFound = await t.throwsAsync(resolveChecked(imapGuard('', dnsError('ENOTFOUND')), 'gone.test'), {
    instanceOf: HostUnresolvable,
  });
  t.is(notFound?.message, 'gone.test does not resolve to any address (ENOTFOUND)');
  t.false(notFound?.retryable);
  const again = await t.throwsAsync(resolveChecked(imapGuard('', dnsError('EAI_AGAIN')), 'flaky.test'), {
    instanceOf: HostUnresolvable,
  });
  t.true(again?.retryable);
  await t.throwsAsync(resolveChecked(imapGuard('', answering('8.8.8.8', 'not-an-ip')), 'odd.test'), {
    instanceOf: HostUnresolvable,
  });
  await t.throwsAsync(resolveChecked(imapGuard('', answering('8.8.8.8')), ''), { instanceOf: HostUnresolvable });
});

test('DNS rebinding: the check sees a public address, the connection lookup then gets 127.0.0.1 and is refused', async (t) => {
  const resolver = rebinding();
  const guard = webhookGuard(parseAllowList(''), resolver);
  const checked = await resolveChecked(guard, 'hooks.attacker.test');
  t.is(checked.address, '8.8.8.8');
  const lookup = guardedLookup(guard);
  const single = await callLookup(lookup, 'hooks.attacker.test', {});
  t.is(resolver.calls, 2, 'the lookup resolved again');
  t.true(single.err instanceof HostForbidden);
  t.is(single.err?.code, 'webhook_url_forbidden');
  t.is(single.err?.message, 'hooks.attacker.test resolves to 127.0.0.1, which is loopback (127.0.0.0/8); not allowed');
  t.is(single.address, '', 'no address handed to the socket');
  const all = await callLookup(lookup, 'hooks.attacker.test', { all: true });
  t.true(all.err instanceof HostForbidden);
  t.is(all.address, '');
});

test('the lookup hands back only checked addresses, in the form net asks for (single, all, by family)', async (t) => {
  const resolver = rebinding();
  const lookup = guardedLookup(webhookGuard(parseAllowList(''), resolver));
  t.deepEqual(await callLookup(lookup, 'hooks.example.test', {}), { err: null, address: '8.8.8.8', family: 4 });
  const dual = guardedLookup(webhookGuard(parseAllowList(''), answering('2606:4700:4700::1111', '8.8.4.4')));
  t.deepEqual(await callLookup(dual, 'hooks.example.test', { all: true }), {
    err: null,
    address: [
      { address: '2606:4700:4700::1111', family: 6 },
      { address: '8.8.4.4', family: 4 },
    ],
    family: undefined,
  });
  t.deepEqual(await callLookup(dual, 'hooks.example.test', { family: 4 }), {
    err: null,
    address: '8.8.4.4',
    family: 4,
  });
  const v4Only = guardedLookup(webhookGuard(parseAllowList(''), answering('8.8.4.4')));
  const none = await callLookup(v4Only, 'hooks.example.test', { family: 6 });
  t.true(none.err instanceof HostUnresolvable);
  const mixed = guardedLookup(imapGuard('', answering('8.8.4.4', '::ffff:10.0.0.1')));
  const refused = await callLookup(mixed, 'imap.example.test', { family: 4 });
  t.true(refused.err instanceof HostForbidden, 'every address is checked, not only the family asked for');
  t.is(refused.err?.code, 'imap_host_forbidden');
});

test('Node calls the lookup as its own: net.connect and http.request fail with the refusal, no connection made', async (t) => {
  // A rebinding resolver past its first answer says 127.0.0.1: were the guard broken, the socket would go to
  // 127.0.0.1:9 (loopback, nothing listening) and the assertions below would see a different error.
  const resolver = rebinding();
  const guard = webhookGuard(parseAllowList(''), resolver);
  await resolveChecked(guard, 'hooks.attacker.test');
  const socket = connect({ host: 'hooks.attacker.test', port: 9, lookup: guardedLookup(guard) });
  const [socketErr] = (await once(socket, 'error')) as [Error];
  t.true(socketErr instanceof HostForbidden, String(socketErr));
  t.is(socket.remoteAddress, undefined);
  const request = httpRequest({ host: 'hooks.attacker.test', port: 9, path: '/', lookup: guardedLookup(guard) });
  request.end();
  const [requestErr] = (await once(request, 'error')) as [Error];
  t.true(requestErr instanceof HostForbidden, String(requestErr));
  t.is(resolver.calls, 3);
});
