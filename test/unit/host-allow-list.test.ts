import test from 'ava';
import { AllowListError, allowsAddress, allowsHostName, parseAllowList } from '../../src/core/host-allow-list.js';
import { parseIp } from '../../src/core/ip-address.js';

const ip = (text: string) => {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test bug: ${text}`);
  return parsed;
};

test('entries: host names, IPs (bracketed or not) and CIDRs, separated by commas and/or white space', (t) => {
  const list = parseAllowList(' Mail.Example.TEST, 10.0.0.5 [::1]\n192.168.0.0/16,,fd00::/8 bücher.test relay.test. ');
  t.deepEqual([...list.hosts], ['mail.example.test', 'xn--bcher-kva.test', 'relay.test']);
  t.deepEqual(list.ips, [ip('10.0.0.5'), ip('::1')]);
  t.is(list.cidrs.length, 2);
  t.deepEqual(parseAllowList(''), { hosts: new Set(), ips: [], cidrs: [] });
  t.deepEqual(parseAllowList(['  a.test ', '']).hosts, new Set(['a.test']));
});

test('invalid entries fail with one error naming every bad entry and the variable', (t) => {
  const bad = [
    '10.0.0.1/8',
    '10.0.0.0/33',
    '0177.0.0.1',
    '127.1',
    '2130706434',
    '0x7f000001',
    '*.example.test',
    'mail.example.test:993',
    'fe80::1%eth0',
    'bad_host!',
    'a..b',
    '-lead.test',
    'x.123',
  ];
  const err = t.throws(() => parseAllowList(['ok.test', ...bad].join(','), 'CONNECTED_ALLOW_HOSTS'), {
    instanceOf: AllowListError,
  });
  t.deepEqual(
    err.problems.map((p) => p.entry),
    bad,
  );
  t.true(
    err.message.startsWith(
      'CONNECTED_ALLOW_HOSTS: "10.0.0.1/8" is not a valid CIDR: host bits are set (did you mean 10.0.0.0/8?)',
    ),
  );
  for (const entry of bad) t.true(err.message.includes(JSON.stringify(entry)), entry);
  t.is(err.problems.find((p) => p.entry === '*.example.test')?.reason, 'is a wildcard; list each host name');
  t.is(err.problems.find((p) => p.entry === '127.1')?.reason, 'is not a dotted-decimal IPv4 address nor a host name');
  t.is(err.problems.find((p) => p.entry === 'fe80::1%eth0')?.reason, 'has an IPv6 zone, which is not supported');
});

test('host name entries match the host exactly, case-insensitive, never an IP literal or a subdomain', (t) => {
  const list = parseAllowList('hooks.internal.test, Bücher.test');
  t.true(allowsHostName(list, 'hooks.internal.test'));
  t.true(allowsHostName(list, 'HOOKS.Internal.Test'));
  t.true(allowsHostName(list, 'hooks.internal.test.'), 'the same DNS name with its root dot');
  t.true(allowsHostName(list, 'xn--bcher-kva.test'), 'IDN compared in punycode, as WHATWG URL writes it');
  t.false(allowsHostName(list, 'a.hooks.internal.test'));
  t.false(allowsHostName(list, 'internal.test'));
  t.false(allowsHostName(list, 'hooks.internal.test.evil.test'));
  t.false(allowsHostName(parseAllowList('127.0.0.1'), '127.0.0.1'), 'an IP entry is not a host name');
});

test('IP entries allow exactly that address (also when it arrives IPv4-mapped); CIDRs everything inside', (t) => {
  const list = parseAllowList('10.0.0.5, 172.16.0.0/12, fd12::/16');
  t.true(allowsAddress(list, ip('10.0.0.5'), false));
  t.true(allowsAddress(list, ip('::ffff:10.0.0.5'), false));
  t.false(allowsAddress(list, ip('10.0.0.6'), false));
  t.true(allowsAddress(list, ip('172.16.0.0'), false));
  t.true(allowsAddress(list, ip('172.31.255.255'), false));
  t.false(allowsAddress(list, ip('172.32.0.0'), false));
  t.true(allowsAddress(list, ip('64:ff9b::172.20.1.1'), false), 'NAT64 compared by its IPv4, like the classifier');
  t.true(allowsAddress(list, ip('fd12:3::1'), false));
  t.false(allowsAddress(list, ip('fd13::1'), false));
  t.false(allowsAddress(parseAllowList('::ffff:0:0/96'), ip('::ffff:127.0.0.1'), false), 'mapped means its IPv4');
  t.true(allowsAddress(parseAllowList('::ffff:127.0.0.1'), ip('127.0.0.1'), false), 'a mapped entry is its IPv4');
});

test('metadata addresses pass only when listed exactly: not by a covering CIDR, not by a listed host name', (t) => {
  const covering = parseAllowList('169.254.0.0/16, fd00::/8, 0.0.0.0/0, ::/0');
  t.false(allowsAddress(covering, ip('169.254.169.254'), false));
  t.false(allowsAddress(covering, ip('::ffff:169.254.169.254'), false));
  t.false(allowsAddress(covering, ip('fd00:ec2::254'), false));
  t.false(allowsAddress(covering, ip('169.254.169.254'), true), 'host listed, but it resolves to metadata');
  t.true(allowsAddress(covering, ip('169.254.169.253'), false), 'the rest of the CIDR is allowed');
  t.true(allowsAddress(covering, ip('fd00:ec2::253'), false));
  const exact = parseAllowList('169.254.169.254, [fd00:ec2::254]');
  t.true(allowsAddress(exact, ip('169.254.169.254'), false));
  t.true(allowsAddress(exact, ip('fd00:ec2::254'), false));
  t.false(allowsAddress(exact, ip('169.254.169.253'), false));
});
