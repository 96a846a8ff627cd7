import { isAscii, isUtf8 } from 'node:buffer';

/** One header line: its name in lower case and its unfolded value (the stored `headers` of a message). */
export interface HeaderLine {
  name: string;
  value: string;
}

export interface HeaderLimits {
  /** characters kept of one (unfolded) header value */
  maxHeaderValueChars: number;
  /** header lines kept */
  maxHeaders: number;
}

/** Header lines as (name, unfolded value) pairs, in order; tolerant of anything. */
export function splitHeaders(block: string, limits: HeaderLimits): HeaderLine[] {
  const out: HeaderLine[] = [];
  for (const line of block.split(/\r?\n(?![ \t])/)) {
    if (out.length >= limits.maxHeaders) break;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.push({
      name: line.slice(0, i).trim().toLowerCase(),
      value: line
        .slice(i + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim()
        .slice(0, limits.maxHeaderValueChars),
    });
  }
  return out;
}

/**
 * The header block of a raw message (or of IMAP's `BODY[HEADER]`) as text, at most `maxBytes` read: UTF-8 when its
 * bytes are valid UTF-8 (raw UTF-8 headers, RFC 6532, as SMTPUTF8 clients send them, read as sent), otherwise byte
 * for byte as latin-1.
 */
export function headerBlock(raw: Buffer, maxBytes: number): string {
  const head = raw.subarray(0, maxBytes);
  const end = blankLine(head);
  const block = end === -1 ? head : head.subarray(0, end);
  if (!isAscii(block) && isUtf8(block)) return block.toString('utf8');
  return block.toString('latin1');
}

/**
 * Where the first empty line (`/\r?\n\r?\n/`) starts in `bytes`, or -1; found on the bytes, so that the body
 * (most of a message) is not turned into a string to find the end of the headers.
 */
export function blankLine(bytes: Buffer): number {
  for (let lf = bytes.indexOf(0x0a); lf !== -1; lf = bytes.indexOf(0x0a, lf + 1)) {
    if (bytes[lf + 1] === 0x0a || (bytes[lf + 1] === 0x0d && bytes[lf + 2] === 0x0a))
      return lf > 0 && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
  }
  return -1;
}
