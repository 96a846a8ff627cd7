/**
 * IP addresses as numbers, without I/O: strict parsing of the textual forms, canonical formatting and CIDR
 * containment. The host guard (`ip-ranges.ts`, `host-allow-list.ts`, `host-guard.ts`) builds on these.
 *
 * Parsing is deliberately strict: IPv4 only as four decimal parts without leading zeros (`0177.0.0.1` is not
 * an address here: WHATWG `URL` turns such forms into dotted decimal before they reach us), IPv6 as RFC 4291
 * text with an optional zone (`%eth0`, ignored for classification).
 */
export interface IpAddress {
  readonly family: 4 | 6;
  /** The address as an unsigned 32- or 128-bit number. */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

export const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIpv4(text: string): IpAddress | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return { family: 4, value };
}

function hexGroups(text: string): bigint[] | null {
  if (text === '') return [];
  const groups: bigint[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (!v4) return null;
      groups.push(v4.value >> 16n, v4.value & 0xffffn);
    } else if (HEX_GROUP.test(part)) groups.push(BigInt(`0x${part}`));
    else return null;
  }
  return groups;
}

export function parseIpv6(text: string): IpAddress | null {
  const zone = text.indexOf('%');
  const bare = zone === -1 ? text : text.slice(0, zone);
  if (zone !== -1 && !/^%[0-9A-Za-z_.-]+$/.test(text.slice(zone))) return null;
  const halves = bare.split('::');
  if (halves.length > 2) return null;
  const head = hexGroups(halves[0]!);
  const tail = halves.length === 2 ? hexGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  // An embedded IPv4 part is only allowed last.
  if (halves.length === 2 && halves[0]!.includes('.')) return null;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const groups = [...head, ...Array<bigint>(8 - given).fill(0n), ...tail];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

/** An IPv4 or IPv6 address in text (no brackets, no port), else null. */
export const parseIp = (text: string): IpAddress | null =>
  parseIpv4(text) ?? (text.includes(':') ? parseIpv6(text) : null);

/** `a.b.c.d/n` or `x::/n` with the host bits zero, else a reason. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash === -1) return 'not a CIDR';
  const ip = parseIp(text.slice(0, slash));
  if (!ip || text.includes('%')) return 'not an IP address before the "/"';
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || prefix > bitsOf(ip.family)) {
    return `prefix length must be 0 to ${bitsOf(ip.family)}`;
  }
  const cidr: Cidr = { family: ip.family, base: ip.value, prefix };
  const network = networkOf(cidr);
  if (network !== ip.value) {
    return `host bits are set (did you mean ${formatIp({ family: ip.family, value: network })}/${prefix}?)`;
  }
  return cidr;
}

/** A CIDR written in source code: throws when it is not one (a programming error). */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new Error(`bad CIDR ${text}: ${parsed}`);
  return parsed;
}

function networkOf(c: Cidr): bigint {
  const hostBits = BigInt(bitsOf(c.family) - c.prefix);
  return (c.base >> hostBits) << hostBits;
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false;
  const hostBits = BigInt(bitsOf(c.family) - c.prefix);
  return ip.value >> hostBits === c.base >> hostBits;
}

/** Dotted decimal for IPv4; RFC 5952 text (lower case, longest zero run as `::`) for IPv6, via WHATWG URL. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((ip.value >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export const formatCidr = (c: Cidr): string => `${formatIp({ family: c.family, value: c.base })}/${c.prefix}`;
