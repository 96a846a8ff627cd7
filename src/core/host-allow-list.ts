import { domainToASCII } from 'node:url';
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress } from './ip-address.js';
import { effectiveAddress, METADATA_RANGES } from './ip-ranges.js';

/**
 * An operator's exceptions to the host guard (`CONNECTED_ALLOW_HOSTS`, `WEBHOOK_ALLOW_HOSTS`): entries separated by
 * commas or white space, each one of
 * - a host name: the host as written in the URL or host field matches it exactly (case-insensitive, IDN compared
 *   in punycode, one trailing dot ignored); then every address it resolves to is allowed, except metadata;
 * - an IP address (`10.0.0.5`, `::1`, `[::1]`): that resolved address is allowed;
 * - a CIDR (`10.0.0.0/8`, `fd00::/8`): every resolved address inside is allowed, except metadata.
 * A metadata address (169.254.169.254, fd00:ec2::254) passes only when listed exactly as an IP entry: neither a
 * CIDR covering it nor a listed host name that resolves to it lets it through.
 * Addresses are compared after unwrapping IPv4-mapped and NAT64 forms, like the classifier judges them.
 */
export interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly ips: readonly IpAddress[];
  readonly cidrs: readonly Cidr[];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), ips: [], cidrs: [] };

export class AllowListError extends Error {
  constructor(
    readonly variable: string,
    readonly problems: readonly { entry: string; reason: string }[],
  ) {
    super(`${variable}: ${problems.map((p) => `${JSON.stringify(p.entry)} ${p.reason}`).join('; ')}`);
    this.name = 'AllowListError';
  }
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
/** A last label WHATWG URL would read as (part of) an IPv4 address: such an entry is a mistyped address. */
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/;

/** The host name as compared: lower case, punycode, without one trailing dot; null when it is not a host name. */
export function normalizeHostName(name: string): string | null {
  const ascii = domainToASCII(name.toLowerCase());
  const bare = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (bare === '' || bare.length > 253) return null;
  const labels = bare.split('.');
  return labels.every((l) => LABEL.test(l)) ? bare : null;
}

type Entry = { host: string } | { ip: IpAddress } | { cidr: Cidr } | { reason: string };

function parseEntry(entry: string): Entry {
  const unbracketed = /^\[[^\]]*\]$/.test(entry) ? entry.slice(1, -1) : entry;
  if (unbracketed.includes('%')) return { reason: 'has an IPv6 zone, which is not supported' };
  if (unbracketed.includes('/')) {
    const c = parseCidr(unbracketed);
    return typeof c === 'string' ? { reason: `is not a valid CIDR: ${c}` } : { cidr: c };
  }
  const ip = parseIp(unbracketed);
  if (ip) return { ip: effectiveAddress(ip).ip };
  if (entry.includes('*')) return { reason: 'is a wildcard; list each host name' };
  if (entry.includes(':') || entry.includes('['))
    return { reason: 'is neither an IP address nor a host name (no ports)' };
  if (/^[0-9.]+$|^0x/i.test(entry) || NUMERIC_LABEL.test(entry.replace(/\.$/, '').split('.').pop()!.toLowerCase())) {
    return { reason: 'is not a dotted-decimal IPv4 address nor a host name' };
  }
  const host = normalizeHostName(entry);
  return host ? { host } : { reason: 'is not a valid host name' };
}

/** Reads an allow-list; throws AllowListError naming every invalid entry (and `variable`) at once. */
export function parseAllowList(input: string | readonly string[], variable = 'allow-list'): AllowList {
  const entries = (typeof input === 'string' ? input.split(/[\s,]+/) : input.map((e) => e.trim())).filter(
    (e) => e !== '',
  );
  const hosts = new Set<string>();
  const ips: IpAddress[] = [];
  const cidrs: Cidr[] = [];
  const problems: { entry: string; reason: string }[] = [];
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if ('reason' in parsed) problems.push({ entry, reason: parsed.reason });
    else if ('host' in parsed) hosts.add(parsed.host);
    else if ('ip' in parsed) ips.push(parsed.ip);
    else cidrs.push(parsed.cidr);
  }
  if (problems.length > 0) throw new AllowListError(variable, problems);
  return { hosts, ips, cidrs };
}

/** Whether the host name (as written in the URL or host field) is listed. IP literals never match a name. */
export function allowsHostName(list: AllowList, host: string): boolean {
  const name = normalizeHostName(host);
  return name !== null && list.hosts.has(name);
}

/**
 * Whether `ip`, resolved for a host that is (`hostListed`) or is not on the list, may be connected to although the
 * policy refuses it. Metadata only by an exact IP entry.
 */
export function allowsAddress(list: AllowList, ip: IpAddress, hostListed: boolean): boolean {
  const target = effectiveAddress(ip).ip;
  const exact = list.ips.some((e) => e.family === target.family && e.value === target.value);
  if (exact) return true;
  if (METADATA_RANGES.some((r) => cidrContains(r.cidr, target))) return false;
  return hostListed || list.cidrs.some((c) => cidrContains(c, target));
}
