import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** 16 base32 characters = 80 random bits: unguessable, lower-case, safe in any mail client. */
export function randomLocalPart(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

const ASCII = /^[\x00-\x7f]*$/; // eslint-disable-line no-control-regex -- the ASCII range starts at NUL

/** A domain in the form MAIL_DOMAINS and stored addresses use: lower-case ASCII (an IDN as punycode, `xn--…`). */
export function asciiDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  return ASCII.test(d) ? d : domainToASCII(d) || d;
}

/** The domain of an address, in `asciiDomain` form. smtp-server hands over IDN domains in Unicode. */
export const domainOf = (address: string) => asciiDomain(address.slice(address.lastIndexOf('@') + 1));

/**
 * One spelling per address, for lookups and storage: trimmed and lower-cased, a quoted local part unquoted
 * (`"box"@d` is `box@d`, RFC 5321 §4.1.2; smtp-server passes the quotes through) and the domain in
 * `asciiDomain` form (`box@bücher.test` is `box@xn--bcher-kva.test`).
 */
export function normalizeAddress(address: string): string {
  const a = address.trim();
  const at = a.lastIndexOf('@');
  if (at < 0) return a.toLowerCase();
  let local = a.slice(0, at);
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  return `${local.toLowerCase()}@${domainOf(a)}`;
}
