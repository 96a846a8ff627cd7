import type { ParsedMail } from 'mailparser';
import {
  headerDecoder,
  headerLines,
  headerValue,
  plainHeaderBlock,
  SIMPLE_MAX_HEADER_BYTES,
  TEXT_PLAIN_CHARSETS,
  type HeaderLine,
} from './parse-simple.js';
import { qpText } from './qp-text.js';

/**
 * A fast path of the parse for the most common shape of real sign-up, reset and notification mail (issue 23):
 * `multipart/alternative` with exactly one text/plain part and then one text/html part, each UTF-8 or US-ASCII,
 * 7bit, 8bit or quoted-printable, nothing else. mailparser takes such a message through mailsplit's line splitter,
 * a decoder stream per part and a setImmediate per chunk; this path finds the two parts by their boundary and
 * decodes them with the same functions mailparser uses (header decoding: MailParser#processHeaders, as the
 * text/plain path does; quoted-printable: what libqp.decode gives on the part's body, as libqp's Decoder does, by
 * qp-text.ts; the bytes as UTF-8 with CRLF as LF, as mailparser reads a text part). The differential test
 * (test/unit/parse-alternative.test.ts) checks field by field against mailparser on generated variants and edge
 * cases. Anything else, or any doubt (a bare CR or LF, a boundary-like line, a parameter it does not know, an empty
 * part, an epilogue), returns undefined and goes through mailparser.
 */
export function parseAlternative(raw: Buffer): ParsedMail | undefined {
  try {
    return alternative(raw);
  } catch {
    return undefined;
  }
}

const TEXT_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'quoted-printable']);
/** RFC 2046 bchars, without a trailing space */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** No bare CR (mailsplit's handling of it is left to mailsplit); bare LF line ends are read as mailsplit reads them. */
const noBareCr = (s: string) => {
  for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) if (s.charCodeAt(i + 1) !== 0x0a) return false;
  return true;
};

/** the decoded headers of a header block this path can read, or undefined */
function headersOf(block: string): { lines: HeaderLine[]; headers: Map<string, unknown> } | undefined {
  if (!plainHeaderBlock(block)) return undefined;
  const lines = headerLines(block);
  if (!lines) return undefined;
  return { lines, headers: headerDecoder.processHeaders(lines) };
}

interface TextPart {
  type: 'text/plain' | 'text/html';
  text: string;
}

/**
 * one body part: only Content-Type (text/plain or text/html, charset only) and Content-Transfer-Encoding.
 * `part` is the part as latin1 text, `bytes` the same bytes.
 */
function textPart(part: string, bytes: Buffer): TextPart | undefined {
  const end = part.indexOf('\r\n\r\n');
  if (end <= 0) return undefined;
  const h = headersOf(part.slice(0, end));
  if (!h) return undefined;
  for (const l of h.lines) if (l.key !== 'content-type' && l.key !== 'content-transfer-encoding') return undefined;
  const type = h.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const value = typeof type === 'object' ? (type.value ?? '').toLowerCase() : '';
  if (value !== 'text/plain' && value !== 'text/html') return undefined;
  for (const [name, v] of Object.entries(type!.params ?? {}))
    if (name !== 'charset' || !TEXT_PLAIN_CHARSETS.has(String(v).toLowerCase())) return undefined;
  const encodingHeader = h.headers.get('content-transfer-encoding');
  if (encodingHeader !== undefined && typeof encodingHeader !== 'string') return undefined;
  const encoding = (encodingHeader ?? '7bit').trim().toLowerCase();
  if (!TEXT_ENCODINGS.has(encoding)) return undefined;
  const body = bytes.subarray(end + 4);
  const text = encoding === 'quoted-printable' ? qpText(body) : body.toString().replace(/\r?\n/g, '\n');
  // mailparser leaves an empty part out of text and html altogether
  if (text.length === 0) return undefined;
  return { type: value, text };
}

function alternative(raw: Buffer): ParsedMail | undefined {
  const end = raw.subarray(0, SIMPLE_MAX_HEADER_BYTES + 4).indexOf('\r\n\r\n');
  if (end <= 0) return undefined;
  const block = raw.toString('latin1', 0, end);
  // cheap early exit: most mail that is not multipart/alternative leaves here
  if (!/^content-type:[ \t]*multipart\/alternative\b/im.test(block)) return undefined;
  const root = headersOf(block);
  if (!root) return undefined;
  const { lines, headers } = root;
  const dateLine = lines.find((l) => l.key === 'date');
  if (dateLine && Number.isNaN(new Date(headerValue(dateLine.line)).getTime())) return undefined;
  for (const l of lines) {
    if (l.key === 'content-disposition') return undefined;
    if (l.key === 'content-transfer-encoding' && !/^(?:7bit|8bit|binary)$/i.test(headerValue(l.line))) return undefined;
  }
  if (lines.filter((l) => l.key === 'content-type').length !== 1) return undefined;
  const type = headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (typeof type !== 'object' || (type.value ?? '').toLowerCase() !== 'multipart/alternative') return undefined;
  const params = Object.keys(type.params ?? {});
  if (params.length !== 1 || params[0] !== 'boundary') return undefined;
  const boundary = String(type.params!.boundary);
  if (!BOUNDARY.test(boundary)) return undefined;

  const body = raw.toString('latin1', end + 4);
  if (!noBareCr(body)) return undefined;
  const open = `--${boundary}`;
  // every line that starts with the delimiter (after CRLF or a bare LF) must be exactly a delimiter, after CRLF and
  // ending in CRLF (no transport padding, no look-alikes, no bare LF around it)
  const delimiters: Array<{ at: number; close: boolean }> = [];
  if (!body.startsWith(open)) return undefined; // a preamble: left to mailparser
  for (let at = 0; at !== -1;) {
    if (at > 0 && body.charCodeAt(at - 2) !== 0x0d) return undefined;
    const eol = body.indexOf('\n', at);
    if (eol !== -1 && body.charCodeAt(eol - 1) !== 0x0d) return undefined;
    const line = body.slice(at, eol === -1 ? body.length : eol - 1);
    if (line === open) delimiters.push({ at, close: false });
    else if (line === `${open}--`) delimiters.push({ at, close: true });
    else return undefined;
    const next = body.indexOf(`\n${open}`, at + 1);
    at = next === -1 ? -1 : next + 1;
  }
  // two parts, then the close delimiter and nothing after it but the line end
  if (delimiters.length !== 3 || delimiters[0]!.at !== 0 || delimiters[0]!.close || delimiters[1]!.close)
    return undefined;
  if (!delimiters[2]!.close) return undefined;
  const tail = body.slice(delimiters[2]!.at + open.length + 2);
  if (tail !== '' && tail !== '\r\n') return undefined;
  const parts: TextPart[] = [];
  for (let k = 0; k < 2; k++) {
    const from = delimiters[k]!.at + open.length + 2; // after the delimiter's CRLF
    const to = delimiters[k + 1]!.at - 2; // the CRLF before the next delimiter belongs to it
    if (to < from) return undefined;
    const p = textPart(body.slice(from, to), raw.subarray(end + 4 + from, end + 4 + to));
    if (!p) return undefined;
    parts.push(p);
  }
  if (parts[0]!.type !== 'text/plain' || parts[1]!.type !== 'text/html') return undefined;

  const mail: Partial<ParsedMail> & { headers: Map<string, unknown> } = {
    headers: headers as ParsedMail['headers'],
    attachments: [],
    text: parts[0]!.text,
    html: parts[1]!.text,
  };
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
  return mail as ParsedMail;
}
