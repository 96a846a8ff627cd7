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
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"'))
    local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  return `${local.toLowerCase()}@${domainOf(a)}`;
}

/** The longest tag kept: the whole local part is at most 64 octets (RFC 5321 §4.5.3.1.1). */
export const MAX_TAG_LENGTH = 64;

/**
 * A normalized recipient as the mailbox it goes to and its tag: with separator `+`, `box+signup@d` is
 * `{ address: 'box@d', tag: 'signup' }`, split at the first separator (`box+a+b@d` has the tag `a+b`). No
 * separator (null: tags are off), none in the local part, nothing before it, or a tag longer than
 * MAX_TAG_LENGTH: the recipient is the address itself, without a tag. An empty tag (`box+@d`) is no tag.
 */
export function splitTag(recipient: string, separator: string | null): { address: string; tag: string | null } {
  const at = recipient.lastIndexOf('@');
  const cut = separator && at > 0 ? recipient.indexOf(separator) : -1;
  if (cut <= 0 || cut >= at || at - cut - 1 > MAX_TAG_LENGTH) return { address: recipient, tag: null };
  const tag = recipient.slice(cut + separator!.length, at);
  return { address: recipient.slice(0, cut) + recipient.slice(at), tag: tag || null };
}
