import { promises as dns, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { AppError } from './errors.js';
import { allowsAddress, allowsHostName, type AllowList } from './host-allow-list.js';
import { formatIp, parseIp, type IpAddress } from './ip-address.js';
import { classifyIp, deniedText, describeDenial, type Policy, type Verdict } from './ip-ranges.js';

/**
 * Resolve a host, check every address against a policy and an allow-list, and connect only to a checked address.
 *
 * Two ways to connect safely, both closing the gap a DNS rebinding attack uses (the name answers a public address
 * to the check and a private one to the connection):
 * - `resolveChecked(host)` → connect to the returned `address` (an IP literal: no second lookup), with the host
 *   name as TLS `servername` and HTTP `Host`;
 * - `guardedLookup(guard)` as the `lookup` option of net/tls/http(s): every lookup the connection makes is
 *   checked, and only checked addresses are handed back. Node skips `lookup` for IP literal hosts, so check
 *   those with `resolveChecked` first (it classifies literals without resolving).
 */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

/** `dns.lookup` with every address, in the resolver's order (what the connection would see). */
export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, order: 'verbatim' });

export interface HostGuard {
  readonly policy: Policy;
  readonly allow: AllowList;
  readonly resolver?: Resolver;
  /** Error codes for the caller's API: `webhook_url_forbidden`, `imap_host_forbidden`, `smtp_host_forbidden`, ... */
  readonly codes: { readonly forbidden: string; readonly unresolvable: string };
}

/** The host resolves to an address the policy refuses and the allow-list does not list: 422. */
export class HostForbidden extends AppError {
  readonly code: string;
  override readonly status = 422;
  constructor(
    code: string,
    readonly host: string,
    readonly verdict: Verdict,
  ) {
    super(
      parseIp(host)
        ? `${describeDenial(verdict)}; not allowed`
        : `${host} resolves to ${verdict.address}, which is ${deniedText(verdict)}; not allowed`,
    );
    this.code = code;
  }
}

/** The host has no address (or DNS failed): 422; retryable when DNS answered "try again". */
export class HostUnresolvable extends AppError {
  readonly code: string;
  override readonly status = 422;
  override readonly retryable: boolean;
  constructor(code: string, host: string, cause?: unknown) {
    const dnsCode = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`${host} does not resolve to any address${dnsCode ? ` (${dnsCode})` : ''}`, { cause });
    this.code = code;
    this.retryable = dnsCode === 'EAI_AGAIN' || dnsCode === 'ETIMEOUT';
  }
}

export interface CheckedHost {
  readonly host: string;
  /** The address to connect to: the first one the resolver gave. */
  readonly address: string;
  readonly family: 4 | 6;
  /** Every resolved address; all of them passed. */
  readonly addresses: readonly { address: string; family: 4 | 6 }[];
}

/** The host as written, without the brackets of an IPv6 literal (`[::1]` → `::1`). */
const bare = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** Judges one address of `host`: null when it may be connected to, else the refusal. */
export function checkAddress(guard: HostGuard, host: string, ip: IpAddress): HostForbidden | null {
  const verdict = classifyIp(ip, guard.policy);
  if (!verdict.denied) return null;
  if (allowsAddress(guard.allow, ip, allowsHostName(guard.allow, bare(host)))) return null;
  return new HostForbidden(guard.codes.forbidden, bare(host), verdict);
}

async function resolve(guard: HostGuard, host: string): Promise<IpAddress[]> {
  const literal = parseIp(host);
  if (literal) return [literal];
  let answers: readonly { address: string; family: number }[];
  try {
    answers = await (guard.resolver ?? systemResolver)(host);
  } catch (err) {
    throw new HostUnresolvable(guard.codes.unresolvable, host, err);
  }
  const ips = answers.map((a) => parseIp(a.address));
  // Fail closed on an answer that is not an address: it cannot be classified, so it cannot be connected to.
  if (ips.length === 0 || ips.some((ip) => ip === null)) throw new HostUnresolvable(guard.codes.unresolvable, host);
  return ips as IpAddress[];
}

/**
 * Resolves `host` (an IP literal is taken as is), checks every address, and returns the first to connect to.
 * Throws HostForbidden naming the first refused address and its range, or HostUnresolvable.
 */
export async function resolveChecked(guard: HostGuard, host: string): Promise<CheckedHost> {
  const name = bare(host);
  if (name === '') throw new HostUnresolvable(guard.codes.unresolvable, host);
  const ips = await resolve(guard, name);
  for (const ip of ips) {
    const refused = checkAddress(guard, name, ip);
    if (refused) throw refused;
  }
  const addresses = ips.map((ip) => ({ address: formatIp(ip), family: ip.family }));
  return { host: name, address: addresses[0]!.address, family: addresses[0]!.family, addresses };
}

const wantedFamily = (family: LookupFunctionOptions['family']): 0 | 4 | 6 =>
  family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0;
type LookupFunctionOptions = Parameters<LookupFunction>[1];

/**
 * A `lookup` for net.connect / tls.connect / http(s).request: resolves with the guard's resolver, checks every
 * address, and calls back with checked addresses only (all of them when `options.all`, as Node 20's
 * happy-eyeballs connect asks, else the first of the wanted family). A refusal is the HostForbidden error, which
 * the socket emits as its `error`.
 */
export function guardedLookup(guard: HostGuard): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(guard, hostname).then(
      (checked) => {
        const family = wantedFamily(options.family);
        const usable: LookupAddress[] = checked.addresses.filter((a) => family === 0 || a.family === family);
        if (usable.length === 0) {
          callback(new HostUnresolvable(guard.codes.unresolvable, hostname), '', 0);
        } else if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: Error) => callback(err, '', 0),
    );
  };
}
