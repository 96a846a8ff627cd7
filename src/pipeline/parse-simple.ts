import { isAscii } from 'node:buffer';
import { MailParser, type AddressObject, type ParsedMail } from 'mailparser';

/**
 * A fast path of the parse for the simplest mail there is: one ASCII text/plain part, no transfer
 * encoding, no attachment. mailparser runs every message through two stream transforms (mailsplit and
 * its own), a hashing stream per part and many small async steps: a large share of the worker's CPU per
 * small message at full load (figures: docs/benchmarks/README.md). For the messages this path accepts it
 * gives exactly what mailparser gives (the differential test in test/unit/parse-simple.test.ts checks field
 * by field, on generated variants and on random input), because it reuses mailparser's own header decoding: header lines are split as
 * mailsplit splits them and decoded by MailParser#processHeaders (encoded words, addresses, dates,
 * Message-ID, duplicates: first wins), and the body is decoded as mailparser decodes a binary text part
 * (CRLF and LF become LF). Anything else returns undefined and goes through mailparser.
 */

// one instance, used only for its header decoding (stateless: it reads `this.libmime` and helpers)
export const headerDecoder = new MailParser() as unknown as {
  processHeaders(lines: { key: string; line: string }[]): Map<string, unknown>;
  libmime: { decodeWords(value: string): string };
};

/** RFC 2047 encoded words of a header value decoded as mailparser decodes them (for the fallback parse). */
export const decodeEncodedWords = (value: string): string => headerDecoder.libmime.decodeWords(value);

export interface HeaderLine {
  key: string;
  line: string;
}

/** Header lines as mailsplit's Headers#getList makes them; undefined for anything mailsplit treats specially. */
export function headerLines(block: string): HeaderLine[] | undefined {
  const rawLines = block.split('\r\n');
  const lines: HeaderLine[] = [];
  for (const raw of rawLines) {
    const folded = raw.charCodeAt(0) === 0x20 || raw.charCodeAt(0) === 0x09;
    if (folded) {
      const last = lines[lines.length - 1];
      if (!last) return undefined; // a block starting with a continuation line
      last.line += `\r\n${raw}`;
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) return undefined; // no key (mailsplit may take it from a continuation line)
    lines.push({ key: raw.slice(0, colon).trim().toLowerCase(), line: raw });
  }
  // mbox "From " and HTTP "POST " first lines are not headers for mailsplit
  if (/^(?:From|POST) /i.test(rawLines[0] ?? '')) return undefined;
  return lines;
}

/** A header line's value as libmime's decodeHeader reads it (unfolded, trimmed). */
export const headerValue = (line: string) => {
  const unfolded = line.replace(/(?:\r?\n|\r)[ \t]*/g, ' ').trim();
  return unfolded.slice(unfolded.indexOf(':') + 1).trim();
};

/** Only CRLF line breaks and printable ASCII or TAB in the header block (no bare CR or LF, no controls). */
export function plainHeaderBlock(block: string): boolean {
  for (let i = 0; i < block.length; i++) {
    const c = block.charCodeAt(i);
    if (c === 0x0d) {
      if (block.charCodeAt(i + 1) !== 0x0a) return false;
      i++;
      continue;
    }
    if (c !== 0x09 && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

/**
 * The largest header block this path takes. mailsplit refuses a header block whose cost (bytes, but at
 * least 64 per line) passes 1 MiB; 16 KiB costs at most 8,192 lines x 64 = 512 KiB, so whatever this
 * path takes mailsplit would have taken too. Longer header blocks go through mailparser.
 */
export const SIMPLE_MAX_HEADER_BYTES = 16 * 1024;

export const TEXT_PLAIN_CHARSETS = new Set(['us-ascii', 'utf-8', 'utf8']);

/** What simpleParser would return for `raw`, when raw is one ASCII text/plain part; else undefined. */
export function parseSimpleText(raw: Buffer): ParsedMail | undefined {
  try {
    return simpleText(raw);
  } catch {
    return undefined; // mailparser decides (and reports) what this path could not read
  }
}

function simpleText(raw: Buffer): ParsedMail | undefined {
  if (!isAscii(raw)) return undefined;
  const end = raw.subarray(0, SIMPLE_MAX_HEADER_BYTES + 4).indexOf('\r\n\r\n');
  if (end <= 0) return undefined;
  const block = raw.toString('latin1', 0, end);
  if (!plainHeaderBlock(block)) return undefined;
  const lines = headerLines(block);
  if (!lines) return undefined;
  // mailparser puts the time of parsing in place of a Date it cannot read (even an empty one): that is left
  // to mailparser, as two parses would not agree on the time
  const dateLine = lines.find((l) => l.key === 'date');
  if (dateLine && Number.isNaN(new Date(headerValue(dateLine.line)).getTime())) return undefined;
  // cheap early exits for the mail this path does not take (multipart, encoded, attachments), so that it
  // costs them little more than the scans above; the decoded headers below decide for the rest
  for (const l of lines) {
    if (l.key === 'content-disposition') return undefined;
    if (l.key === 'content-type' && !/^text\/plain\b/i.test(headerValue(l.line))) return undefined;
    if (l.key === 'content-transfer-encoding' && !/^(?:7bit|8bit|binary)$/i.test(headerValue(l.line))) return undefined;
  }
  const headers = headerDecoder.processHeaders(lines);

  const type = headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (type !== undefined) {
    if (typeof type !== 'object' || (type.value ?? '').toLowerCase() !== 'text/plain') return undefined;
    for (const [name, value] of Object.entries(type.params ?? {})) {
      if (name !== 'charset' || !TEXT_PLAIN_CHARSETS.has(String(value).toLowerCase())) return undefined;
    }
  }
  const encoding = headers.get('content-transfer-encoding');
  if (
    encoding !== undefined &&
    (typeof encoding !== 'string' || !['7bit', '8bit', 'binary'].includes(encoding.trim().toLowerCase()))
  )
    return undefined;
  if (headers.has('content-disposition')) return undefined;

  const body = raw.toString('latin1', end + 4);
  const mail: Partial<ParsedMail> & { headers: Map<string, unknown> } = {
    headers: headers as ParsedMail['headers'],
    attachments: [],
    html: false,
  };
  if (body.length > 0) mail.text = body.replace(/\r?\n/g, '\n');
  const take = <K extends keyof ParsedMail>(field: K, key: string) => {
    if (headers.has(key)) (mail as Record<string, unknown>)[field] = headers.get(key);
  };
  take('subject', 'subject');
  take('date', 'date');
  take('to', 'to');
  take('from', 'from');
  take('cc', 'cc');
  take('messageId', 'message-id');
  take('replyTo', 'reply-to');
  return mail as ParsedMail & { from?: AddressObject };
}
