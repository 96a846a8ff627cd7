import { cidr, cidrContains, formatCidr, formatIp, parseIp, type Cidr, type IpAddress } from './ip-address.js';

/**
 * Which addresses an outbound connection may reach, as two policies over named ranges (pure, no I/O):
 *
 * - `webhook` (issue 22): only globally routable unicast. Denies exactly the issue's list, which is the IANA
 *   special-purpose registries' "not globally reachable" entries plus multicast and reserved space.
 * - `connected` (issue 19, IMAP/SMTP/bounce hosts and relays): denies what reaches the operator's own network:
 *   loopback, private, link-local, CGNAT and cloud metadata. `0.0.0.0/8` and `::` are in it too, because
 *   connecting to 0.0.0.0 or :: reaches the local host on Linux.
 *
 * In both, an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) address is judged by the IPv4 address it
 * carries, because that is where the packets end up (`::ffff:127.0.0.2` is loopback). The metadata addresses are
 * listed before the ranges that contain them, so a refusal names them and an allow-list can treat them apart.
 */
export type Policy = 'webhook' | 'connected';

export type RangeName =
  | 'unspecified'
  | 'this-network'
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'site-local'
  | 'link-local'
  | 'cgnat'
  | 'metadata'
  | 'ietf-protocol-assignments'
  | 'documentation'
  | '6to4-relay-anycast'
  | '6to4'
  | 'benchmarking'
  | 'multicast'
  | 'reserved'
  | 'discard-only'
  | 'teredo-and-ietf';

export interface NamedRange {
  readonly name: RangeName;
  readonly cidr: Cidr;
}

const range = (name: RangeName, text: string): NamedRange => ({ name, cidr: cidr(text) });

/** The cloud instance metadata endpoints (AWS, GCP, Azure, ... on IPv4; AWS on IPv6). */
export const METADATA_RANGES: readonly NamedRange[] = [
  range('metadata', '169.254.169.254/32'),
  range('metadata', 'fd00:ec2::254/128'),
];

const WEBHOOK_DENIED: readonly NamedRange[] = [
  ...METADATA_RANGES,
  range('this-network', '0.0.0.0/8'),
  range('private', '10.0.0.0/8'),
  range('cgnat', '100.64.0.0/10'),
  range('loopback', '127.0.0.0/8'),
  range('link-local', '169.254.0.0/16'),
  range('private', '172.16.0.0/12'),
  range('ietf-protocol-assignments', '192.0.0.0/24'),
  range('documentation', '192.0.2.0/24'),
  range('6to4-relay-anycast', '192.88.99.0/24'),
  range('private', '192.168.0.0/16'),
  range('benchmarking', '198.18.0.0/15'),
  range('documentation', '198.51.100.0/24'),
  range('documentation', '203.0.113.0/24'),
  range('multicast', '224.0.0.0/4'),
  range('reserved', '240.0.0.0/4'),
  range('unspecified', '::/128'),
  range('loopback', '::1/128'),
  range('unique-local', 'fc00::/7'),
  range('link-local', 'fe80::/10'),
  range('site-local', 'fec0::/10'),
  range('multicast', 'ff00::/8'),
  range('discard-only', '100::/64'),
  range('teredo-and-ietf', '2001::/23'),
  range('documentation', '2001:db8::/32'),
  range('6to4', '2002::/16'),
];

const CONNECTED_DENIED: readonly NamedRange[] = [
  ...METADATA_RANGES,
  range('this-network', '0.0.0.0/8'),
  range('private', '10.0.0.0/8'),
  range('cgnat', '100.64.0.0/10'),
  range('loopback', '127.0.0.0/8'),
  range('link-local', '169.254.0.0/16'),
  range('private', '172.16.0.0/12'),
  range('private', '192.168.0.0/16'),
  range('unspecified', '::/128'),
  range('loopback', '::1/128'),
  range('unique-local', 'fc00::/7'),
  range('link-local', 'fe80::/10'),
  range('site-local', 'fec0::/10'),
];

export const DENIED_RANGES: Readonly<Record<Policy, readonly NamedRange[]>> = {
  webhook: WEBHOOK_DENIED,
  connected: CONNECTED_DENIED,
};

/** IPv6 prefixes whose last 32 bits are an IPv4 address the traffic goes to. */
const EMBEDDING: readonly { name: 'ipv4-mapped' | 'nat64'; cidr: Cidr }[] = [
  { name: 'ipv4-mapped', cidr: cidr('::ffff:0:0/96') },
  { name: 'nat64', cidr: cidr('64:ff9b::/96') },
];

/** The address traffic really goes to: the embedded IPv4 of a mapped or NAT64 address, else the address itself. */
export function effectiveAddress(ip: IpAddress): { ip: IpAddress; via: 'ipv4-mapped' | 'nat64' | null } {
  const embedding = EMBEDDING.find((e) => cidrContains(e.cidr, ip));
  if (!embedding) return { ip, via: null };
  return { ip: { family: 4, value: ip.value & 0xffffffffn }, via: embedding.name };
}

export interface Verdict {
  /** The address as given, in canonical text. */
  readonly address: string;
  readonly family: 4 | 6;
  /** The range that refused it; null when the policy allows it. */
  readonly denied: {
    readonly name: RangeName;
    readonly cidr: string;
    readonly via: 'ipv4-mapped' | 'nat64' | null;
  } | null;
}

/** The denied range of `policy` containing `ip` (judging mapped and NAT64 addresses by their IPv4), or null. */
export function deniedRange(ip: IpAddress, policy: Policy): Verdict['denied'] {
  const effective = effectiveAddress(ip);
  const hit = DENIED_RANGES[policy].find((r) => cidrContains(r.cidr, effective.ip));
  return hit ? { name: hit.name, cidr: formatCidr(hit.cidr), via: effective.via } : null;
}

export function classifyIp(ip: IpAddress, policy: Policy): Verdict {
  return { address: formatIp(ip), family: ip.family, denied: deniedRange(ip, policy) };
}

/** `classifyIp` for an address in text; throws on text that is not an IP address (callers parse first). */
export function classify(address: string, policy: Policy): Verdict {
  const ip = parseIp(address);
  if (!ip) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  return classifyIp(ip, policy);
}

/** "loopback (127.0.0.0/8)", "loopback (127.0.0.0/8, IPv4-mapped)"; "allowed" when nothing refused it. */
export function deniedText(verdict: Verdict): string {
  if (!verdict.denied) return 'allowed';
  const { name, cidr: range, via } = verdict.denied;
  return `${name} (${range}${via ? `, ${via === 'nat64' ? 'NAT64' : 'IPv4-mapped'}` : ''})`;
}

/** "127.0.0.2 is loopback (127.0.0.0/8)", "::ffff:7f00:2 is loopback (127.0.0.0/8, IPv4-mapped)". */
export const describeDenial = (verdict: Verdict): string => `${verdict.address} is ${deniedText(verdict)}`;
