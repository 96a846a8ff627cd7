import { allowsHostName, type AllowList } from '../core/host-allow-list.js';
import { resolveChecked, type CheckedHost, type HostGuard } from '../core/host-guard.js';
import { cidrContains, parseIp } from '../core/ip-address.js';
import type { AccountSettings } from '../store/mailboxes.js';
import { AccountRejected } from './errors.js';

/** What a connected mailbox's account connects with: its settings and its password in clear (never logged). */
export interface AccountLogin extends AccountSettings {
  password: string;
}

/** The host guard of connected accounts: the `connected` policy with CONNECTED_ALLOW_HOSTS. */
export const connectedGuard = (allow: AllowList, account: 'imap' | 'smtp' | 'bounce_imap'): HostGuard => ({
  policy: 'connected',
  allow,
  codes: { forbidden: `${account}_host_forbidden`, unresolvable: `${account}_unreachable` },
});

/** Whether the host as written is on the list: a name by its own entry, an IP literal by an IP or CIDR entry. */
function listed(allow: AllowList, host: string): boolean {
  if (allowsHostName(allow, host)) return true;
  const ip = parseIp(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);
  return (
    ip !== null &&
    (allow.ips.some((e) => e.family === ip.family && e.value === ip.value) ||
      allow.cidrs.some((c) => cidrContains(c, ip)))
  );
}

/**
 * The address an account may be connected to: `tls: "none"` only to a host on CONNECTED_ALLOW_HOSTS (a password
 * in clear goes to a server the operator named), then resolved and checked by the guard (422
 * `<account>_host_forbidden`), so the connection goes to the checked address (no DNS rebinding).
 */
export async function checkedHost(
  guard: HostGuard,
  settings: AccountSettings,
  account: 'imap' | 'smtp' | 'bounce_imap',
): Promise<CheckedHost> {
  if (settings.tls === 'none' && !listed(guard.allow, settings.host))
    throw new AccountRejected(
      `${account}_tls_required`,
      `${account}.tls "none" is allowed only for hosts on CONNECTED_ALLOW_HOSTS; use "implicit" or "starttls"`,
    );
  return resolveChecked(guard, settings.host);
}
