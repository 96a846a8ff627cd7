import test from 'ava';
import { formatIp, parseCidr, parseIp } from '../../src/core/ip-address.js';
import { classify, describeDenial, type Policy } from '../../src/core/ip-ranges.js';

/** [address, expected range name (null = allowed), its CIDR, how it was unwrapped] */
type Row = readonly [string, string | null, string?, ('ipv4-mapped' | 'nat64')?];

const F6 = 'ffff:ffff:ffff:ffff:ffff:ffff';
const F7 = `${F6}:ffff`;

function checkTable(t: import('ava').ExecutionContext, policy: Policy, rows: readonly Row[]) {
  for (const [address, name, range, via] of rows) {
    const { denied } = classify(address, policy);
    const expected = name === null ? null : { name, cidr: range, via: via ?? null };
    t.deepEqual(denied, expected, `${policy}: ${address}`);
  }
}

// Each denied range: one address just outside below, the first and last inside, one just outside above.
const SHARED_IPV4: readonly Row[] = [
  ['0.0.0.0', 'this-network', '0.0.0.0/8'],
  ['0.255.255.255', 'this-network', '0.0.0.0/8'],
  ['1.0.0.0', null],
  ['9.255.255.255', null],
  ['10.0.0.0', 'private', '10.0.0.0/8'],
  ['10.255.255.255', 'private', '10.0.0.0/8'],
  ['11.0.0.0', null],
  ['100.63.255.255', null],
  ['100.64.0.0', 'cgnat', '100.64.0.0/10'],
  ['100.127.255.255', 'cgnat', '100.64.0.0/10'],
  ['100.128.0.0', null],
  ['126.255.255.255', null],
  ['127.0.0.0', 'loopback', '127.0.0.0/8'],
  ['127.0.0.2', 'loopback', '127.0.0.0/8'],
  ['127.255.255.255', 'loopback', '127.0.0.0/8'],
  ['128.0.0.0', null],
  ['169.253.255.255', null],
  ['169.254.0.0', 'link-local', '169.254.0.0/16'],
  ['169.254.169.253', 'link-local', '169.254.0.0/16'],
  ['169.254.169.254', 'metadata', '169.254.169.254/32'],
  ['169.254.169.255', 'link-local', '169.254.0.0/16'],
  ['169.254.255.255', 'link-local', '169.254.0.0/16'],
  ['169.255.0.0', null],
  ['172.15.255.255', null],
  ['172.16.0.0', 'private', '172.16.0.0/12'],
  ['172.31.255.255', 'private', '172.16.0.0/12'],
  ['172.32.0.0', null],
  ['192.167.255.255', null],
  ['192.168.0.0', 'private', '192.168.0.0/16'],
  ['192.168.255.255', 'private', '192.168.0.0/16'],
  ['192.169.0.0', null],
  ['8.8.8.8', null],
  ['1.1.1.1', null],
];

const SHARED_IPV6: readonly Row[] = [
  ['::', 'unspecified', '::/128'],
  ['::1', 'loopback', '::1/128'],
  [`fbff:${F7}`, null],
  ['fc00::', 'unique-local', 'fc00::/7'],
  ['fd00:ec2::253', 'unique-local', 'fc00::/7'],
  ['fd00:ec2::254', 'metadata', 'fd00:ec2::254/128'],
  ['fd00:ec2::255', 'unique-local', 'fc00::/7'],
  [`fdff:${F7}`, 'unique-local', 'fc00::/7'],
  [`fe7f:${F7}`, null],
  ['fe80::', 'link-local', 'fe80::/10'],
  ['fe80::1%eth0', 'link-local', 'fe80::/10'],
  [`febf:${F7}`, 'link-local', 'fe80::/10'],
  ['fec0::', 'site-local', 'fec0::/10'],
  [`feff:${F7}`, 'site-local', 'fec0::/10'],
  ['2606:4700:4700::1111', null],
  // IPv4-mapped ::ffff:0:0/96: judged by the IPv4 address inside (first and last inside; neighbours outside)
  ['::fffe:ffff:ffff', null],
  ['::ffff:0.0.0.0', 'this-network', '0.0.0.0/8', 'ipv4-mapped'],
  ['::ffff:127.0.0.2', 'loopback', '127.0.0.0/8', 'ipv4-mapped'],
  ['::ffff:7f00:1', 'loopback', '127.0.0.0/8', 'ipv4-mapped'],
  ['::ffff:169.254.169.254', 'metadata', '169.254.169.254/32', 'ipv4-mapped'],
  ['::ffff:10.1.2.3', 'private', '10.0.0.0/8', 'ipv4-mapped'],
  ['::ffff:8.8.8.8', null],
  ['::1:0:0:0', null],
  // NAT64 64:ff9b::/96
  [`64:ff9a:${F6}`, null],
  ['64:ff9b::0.0.0.0', 'this-network', '0.0.0.0/8', 'nat64'],
  ['64:ff9b::7f00:1', 'loopback', '127.0.0.0/8', 'nat64'],
  ['64:ff9b::192.168.1.1', 'private', '192.168.0.0/16', 'nat64'],
  ['64:ff9b::a9fe:a9fe', 'metadata', '169.254.169.254/32', 'nat64'],
  ['64:ff9b::8.8.8.8', null],
  ['64:ff9b::1:0:0', null],
];

test('webhook policy: every denied range of issue 22 at its boundaries, IPv4', (t) => {
  checkTable(t, 'webhook', [
    ...SHARED_IPV4,
    ['191.255.255.255', null],
    ['192.0.0.0', 'ietf-protocol-assignments', '192.0.0.0/24'],
    ['192.0.0.255', 'ietf-protocol-assignments', '192.0.0.0/24'],
    ['192.0.1.0', null],
    ['192.0.1.255', null],
    ['192.0.2.0', 'documentation', '192.0.2.0/24'],
    ['192.0.2.255', 'documentation', '192.0.2.0/24'],
    ['192.0.3.0', null],
    ['192.88.98.255', null],
    ['192.88.99.0', '6to4-relay-anycast', '192.88.99.0/24'],
    ['192.88.99.255', '6to4-relay-anycast', '192.88.99.0/24'],
    ['192.88.100.0', null],
    ['198.17.255.255', null],
    ['198.18.0.0', 'benchmarking', '198.18.0.0/15'],
    ['198.19.255.255', 'benchmarking', '198.18.0.0/15'],
    ['198.20.0.0', null],
    ['198.51.99.255', null],
    ['198.51.100.0', 'documentation', '198.51.100.0/24'],
    ['198.51.100.255', 'documentation', '198.51.100.0/24'],
    ['198.51.101.0', null],
    ['203.0.112.255', null],
    ['203.0.113.0', 'documentation', '203.0.113.0/24'],
    ['203.0.113.255', 'documentation', '203.0.113.0/24'],
    ['203.0.114.0', null],
    ['223.255.255.255', null],
    ['224.0.0.0', 'multicast', '224.0.0.0/4'],
    ['239.255.255.255', 'multicast', '224.0.0.0/4'],
    ['240.0.0.0', 'reserved', '240.0.0.0/4'],
    ['255.255.255.255', 'reserved', '240.0.0.0/4'],
  ]);
});

test('webhook policy: every denied range of issue 22 at its boundaries, IPv6, mapped and NAT64', (t) => {
  checkTable(t, 'webhook', [
    ...SHARED_IPV6,
    ['::ffff:255.255.255.255', 'reserved', '240.0.0.0/4', 'ipv4-mapped'],
    ['::ffff:192.0.2.1', 'documentation', '192.0.2.0/24', 'ipv4-mapped'],
    ['64:ff9b::255.255.255.255', 'reserved', '240.0.0.0/4', 'nat64'],
    ['fe00::', null],
    [`feff:${F7}`, 'site-local', 'fec0::/10'],
    ['ff00::', 'multicast', 'ff00::/8'],
    [`ffff:${F7}`, 'multicast', 'ff00::/8'],
    ['ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
    ['100::', 'discard-only', '100::/64'],
    ['100::ffff:ffff:ffff:ffff', 'discard-only', '100::/64'],
    ['100:0:0:1::', null],
    [`2000:${F7}`, null],
    ['2001::', 'teredo-and-ietf', '2001::/23'],
    [`2001:1ff:${F6}`, 'teredo-and-ietf', '2001::/23'],
    ['2001:200::', null],
    [`2001:db7:${F6}`, null],
    ['2001:db8::', 'documentation', '2001:db8::/32'],
    [`2001:db8:${F6}`, 'documentation', '2001:db8::/32'],
    ['2001:db9::', null],
    [`2001:${F7}`, null],
    ['2002::', '6to4', '2002::/16'],
    [`2002:${F7}`, '6to4', '2002::/16'],
    ['2003::', null],
  ]);
});

test('connected policy: loopback, private, link-local, CGNAT, metadata refused; documentation and multicast are not its business', (t) => {
  checkTable(t, 'connected', [
    ...SHARED_IPV4,
    ...SHARED_IPV6,
    ['::ffff:192.0.2.1', null],
    ['192.0.0.1', null],
    ['192.0.2.1', null],
    ['192.88.99.1', null],
    ['198.18.0.1', null],
    ['203.0.113.5', null],
    ['224.0.0.1', null],
    ['240.0.0.1', null],
    ['ff00::', null],
    ['2001:db8::1', null],
    ['2002::1', null],
    ['100::', null],
  ]);
});

test('a refusal reads as address, range name and CIDR, with the unwrapping named', (t) => {
  t.is(describeDenial(classify('127.0.0.2', 'webhook')), '127.0.0.2 is loopback (127.0.0.0/8)');
  t.is(
    describeDenial(classify('::ffff:127.0.0.2', 'connected')),
    '::ffff:7f00:2 is loopback (127.0.0.0/8, IPv4-mapped)',
  );
  t.is(
    describeDenial(classify('64:ff9b::a9fe:a9fe', 'webhook')),
    '64:ff9b::a9fe:a9fe is metadata (169.254.169.254/32, NAT64)',
  );
  t.is(describeDenial(classify('8.8.8.8', 'webhook')), '8.8.8.8 is allowed');
  t.throws(() => classify('localhost', 'webhook'), { instanceOf: TypeError });
});

test('parseIp: strict text forms only (URL normalisation happens before)', (t) => {
  for (const bad of [
    '0177.0.0.1',
    '127.1',
    '2130706434',
    '0x7f000001',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.0',
    '01.2.3.4',
    ':::',
    '1::2::3',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'fe80::1%',
    'g::1',
    '',
  ]) {
    t.is(parseIp(bad), null, bad);
  }
  t.deepEqual(parseIp('127.0.0.2'), { family: 4, value: 0x7f000002n });
  t.deepEqual(parseIp('::ffff:1.2.3.4'), { family: 6, value: 0xffff01020304n });
  t.deepEqual(parseIp('1:2:3:4:5:6:7::'), { family: 6, value: 0x0001000200030004000500060007_0000n });
  t.deepEqual(parseIp('::2:3:4:5:6:7:8'), { family: 6, value: 0x0000000200030004000500060007_0008n });
  t.is(formatIp(parseIp('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
  t.is(formatIp(parseIp('10.20.30.40')!), '10.20.30.40');
});

test('parseCidr: prefix bounds and host bits are reported', (t) => {
  t.deepEqual(parseCidr('10.0.0.0/8'), { family: 4, base: 0x0a000000n, prefix: 8 });
  t.deepEqual(parseCidr('::/0'), { family: 6, base: 0n, prefix: 0 });
  t.is(parseCidr('10.0.0.1/8'), 'host bits are set (did you mean 10.0.0.0/8?)');
  t.is(parseCidr('10.0.0.0/33'), 'prefix length must be 0 to 32');
  t.is(parseCidr('::/129'), 'prefix length must be 0 to 128');
  t.is(parseCidr('10.0.0.0/08'), 'prefix length must be 0 to 32');
  t.is(parseCidr('10.0.0.0/'), 'prefix length must be 0 to 32');
  t.is(parseCidr('fe80::%eth0/64'), 'not an IP address before the "/"');
  t.is(parseCidr('host/8'), 'not an IP address before the "/"');
});
