import { asciiDomain } from '../core/address.js';
import type { NamedAddress } from '../store/outbound.js';
import { badSend } from './errors.js';

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`);
// RFC 5321 Quoted-string: printable ASCII except " and \, or a backslash pair
const QUOTED = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// eslint-disable-next-line no-control-regex -- CR, LF and NUL are what this looks for
export const CONTROL = /[\r\n\u0000]/;

/** A host name with at least one dot, in ASCII (an IDN as punycode); undefined when it is not one. */
export function hostName(domain: string): string | undefined {
  const ascii = asciiDomain(domain);
  if (ascii.length > 253 || !ascii.includes('.')) return undefined;
  return ascii.split('.').every((l) => LABEL.test(l)) ? ascii : undefined;
}

/**
 * One address as the API takes it: `addr@domain` or `Name <addr@domain>`. The local part is a dot-atom or a
 * quoted string of at most 64 octets (no SMTPUTF8: ASCII only), the domain a host name with a dot (an IDN goes
 * out as punycode). CR, LF or NUL: 400 `invalid_header`; anything else wrong: 400 `invalid_address`.
 */
export function parseAddress(input: string, field: string): NamedAddress {
  if (CONTROL.test(input)) throw badSend('invalid_header', `${field}: CR, LF or NUL in an address`);
  const text = input.trim();
  const angled = /^(.*?)<([^<>]*)>$/.exec(text);
  let name: string | null = null;
  let addr = text;
  if (angled) {
    name = (angled[1] ?? '').trim();
    if (name.length >= 2 && name.startsWith('"') && name.endsWith('"'))
      name = name.slice(1, -1).replace(/\\(.)/g, '$1');
    name = name || null;
    addr = (angled[2] ?? '').trim();
  }
  const at = addr.lastIndexOf('@');
  const local = at > 0 ? addr.slice(0, at) : '';
  const domain = at > 0 ? hostName(addr.slice(at + 1)) : undefined;
  const localOk = (DOT_ATOM.test(local) || QUOTED.test(local)) && Buffer.byteLength(local) <= 64;
  if (!localOk || !domain)
    throw badSend(
      'invalid_address',
      `${field}: ${JSON.stringify(input.slice(0, 320))} is not an address (local@domain)`,
    );
  return { address: `${local}@${domain}`, name };
}

/** A string or an array of strings, each an address. */
export function parseAddressList(value: string | string[] | undefined, field: string): NamedAddress[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v, i) =>
    parseAddress(v, Array.isArray(value) ? `${field}[${i}]` : field),
  );
}

/** The comparison key of a recipient: the whole address, case-insensitively (as citext compares them). */
export const recipientKey = (address: string) => address.toLowerCase();
