import { BadRequest } from './errors.js';

/**
 * Local parts a caller may not choose (compared case-insensitively): the role addresses of RFC 2142 and the
 * names mail systems use for themselves, which a temporary inbox must never be mistaken for.
 */
export const RESERVED_LOCAL_PARTS: readonly string[] = [
  'postmaster',
  'abuse',
  'admin',
  'hostmaster',
  'webmaster',
  'root',
  'noreply',
  'no-reply',
  'mailer-daemon',
  'bounce',
  'bounces',
];

/** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
export const MAX_LOCAL_PART_OCTETS = 64;

// RFC 5322 §3.2.3 atext; a dot-atom is atext runs joined by single dots (no leading, trailing or double dot)
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const DOT_ATOM = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);

/**
 * A local part chosen at creation (`local_part`), lower-cased as every stored address is; or a 400:
 * `invalid_local_part` (not a dot-atom, longer than 64 octets, or holding the tag separator, which would make
 * mail to it read as `local+tag`) or `reserved_local_part` (RESERVED_LOCAL_PARTS).
 */
export function chosenLocalPart(value: string, tagSeparator: string | null): string {
  if (Buffer.byteLength(value) > MAX_LOCAL_PART_OCTETS) {
    throw new BadRequest(`local_part must be at most ${MAX_LOCAL_PART_OCTETS} octets`, 'invalid_local_part');
  }
  if (!DOT_ATOM.test(value)) {
    throw new BadRequest(
      "local_part must be an RFC 5321 dot-atom: ASCII letters, digits and !#$%&'*+/=?^_`{|}~- in runs separated by single dots",
      'invalid_local_part',
    );
  }
  if (tagSeparator && value.includes(tagSeparator)) {
    throw new BadRequest(
      `local_part must not contain "${tagSeparator}", the tag separator (mail to box${tagSeparator}tag@… goes to box@…)`,
      'invalid_local_part',
    );
  }
  const local = value.toLowerCase();
  if (RESERVED_LOCAL_PARTS.includes(local)) {
    throw new BadRequest(
      `local_part "${local}" is reserved (${RESERVED_LOCAL_PARTS.join(', ')})`,
      'reserved_local_part',
    );
  }
  return local;
}
