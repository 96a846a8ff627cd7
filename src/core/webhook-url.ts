import { AppError } from './errors.js';
import type { AllowList } from './host-allow-list.js';
import { checkAddress, resolveChecked, type CheckedHost, type HostGuard, type Resolver } from './host-guard.js';
import { parseIp } from './ip-address.js';

/**
 * Issue 22's webhook URL rules, judged on the WHATWG `URL` normalisation (the form every HTTP client connects to):
 * `http://2130706434/`, `http://0x7f000002/` and `http://0177.0.0.2/` all have the host 127.0.0.2 there, and
 * `http://[::ffff:127.0.0.2]/` the IPv4-mapped loopback address.
 */
export const WEBHOOK_URL_MAX_LENGTH = 2048;

export const WEBHOOK_CODES = { forbidden: 'webhook_url_forbidden', unresolvable: 'webhook_url_unresolvable' } as const;

/** Not an http(s) URL Mailwright will call: 422 `webhook_url_invalid`. */
export class WebhookUrlInvalid extends AppError {
  readonly code = 'webhook_url_invalid';
  override readonly status = 422;
}

export interface WebhookUrl {
  readonly url: URL;
  /** The host name as compared with the allow-list and resolved; an IPv6 literal without its brackets. */
  readonly host: string;
}

/** Syntax only (no policy, no DNS): http/https, no userinfo, at most WEBHOOK_URL_MAX_LENGTH once normalised. */
export function parseWebhookUrl(raw: string): WebhookUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlInvalid('url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlInvalid('url must use http or https');
  if (url.username !== '' || url.password !== '')
    throw new WebhookUrlInvalid('url must not contain a user name or password');
  if (url.href.length > WEBHOOK_URL_MAX_LENGTH) {
    throw new WebhookUrlInvalid(`url is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { url, host };
}

/** The guard for webhook hosts; delivery uses it again with `guardedLookup` or `resolveChecked`. */
export const webhookGuard = (allow: AllowList, resolver?: Resolver): HostGuard => ({
  policy: 'webhook',
  allow,
  codes: WEBHOOK_CODES,
  ...(resolver ? { resolver } : {}),
});

/**
 * The checks that need no DNS: syntax, and the policy for an IP literal host. Throws WebhookUrlInvalid or
 * HostForbidden (`webhook_url_forbidden`); a host name still has to go through `checkWebhookUrl`.
 */
export function precheckWebhookUrl(raw: string, allow: AllowList): WebhookUrl {
  const parsed = parseWebhookUrl(raw);
  const literal = parseIp(parsed.host);
  const refused = literal ? checkAddress(webhookGuard(allow), parsed.host, literal) : null;
  if (refused) throw refused;
  return parsed;
}

/**
 * Configuration time: the pre-check, then every resolved address must pass. Returns the URL and the checked
 * address; delivery must resolve again (`resolveChecked` or `guardedLookup`) and connect to what it checked.
 */
export async function checkWebhookUrl(
  raw: string,
  allow: AllowList,
  resolver?: Resolver,
): Promise<WebhookUrl & { checked: CheckedHost }> {
  const parsed = precheckWebhookUrl(raw, allow);
  return { ...parsed, checked: await resolveChecked(webhookGuard(allow, resolver), parsed.host) };
}
