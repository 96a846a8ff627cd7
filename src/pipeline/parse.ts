import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { within } from '../core/timeout.js';
import { headCodePoints } from '../core/text.js';
import { parseAlternative } from './parse-alternative.js';
import { decodeEncodedWords, parseSimpleText } from './parse-simple.js';
import { extractFromMessage, type ExtractLimits, type FoundCode, type FoundLink } from '../extract/index.js';
import { headerBlock, splitHeaders } from '../extract/headers.js';
import type { AddressEntry, AttachmentMeta, AttachmentPart, HeaderEntry } from '../store/message-row.js';
import { locateAttachments } from './part-locations.js';

export { splitHeaders } from '../extract/headers.js';

export interface ParsedMessage {
  messageIdHeader: string | null;
  fromAddress: string | null;
  fromName: string | null;
  to: AddressEntry[];
  cc: AddressEntry[];
  replyTo: AddressEntry[];
  subject: string | null;
  text: string | null;
  html: string | null;
  headers: HeaderEntry[];
  attachments: AttachmentMeta[];
  /** where each attachment lies in the raw message (part-locations.ts); null: not recorded, downloads re-parse */
  attachmentParts: AttachmentPart[] | null;
  sentAt: Date | null;
  parseError: string | null;
  /** likely one-time codes and every http(s) link (src/extract), computed here, once per message */
  codes: FoundCode[];
  links: FoundLink[];
}

/** Limits of the parse itself (config.parse); extraction has its own (config.extract). */
export interface ParseLimits {
  /** characters kept of one (unfolded) header value in `headers` */
  maxHeaderValueChars: number;
  /** header lines kept in `headers` */
  maxHeaders: number;
  /** bytes at the start of the raw message searched for the header block */
  maxHeaderBlockBytes: number;
  /** an HTML part longer than this many characters is not converted to text (mailparser's maxHtmlLengthToParse) */
  maxHtmlToTextChars: number;
  /** characters (code points) kept of the parse error note (`parse_error`) */
  maxErrorNoteChars: number;
}

/**
 * Postgres text and jsonb cannot hold U+0000, and jsonb refuses a lone surrogate ("\ud800", which
 * JSON.stringify writes for one; a decoded word or RFC 2231 filename in UTF-16 makes one): parsed strings
 * carry U+FFFD instead of either (raw keeps the bytes). Exported for the attachment download, so its
 * filename reads as the stored metadata does.
 * NULs: rewrites the UTF-16 code units of a copy rather than s.replace(/\u0000/g, ...): a regex replace
 * is many times slower per NUL, so a text part of megabytes of NULs blocked the worker for seconds.
 */
export const clean = (input: string) => {
  const s = input.isWellFormed() ? input : input.toWellFormed();
  if (!s.includes('\u0000')) return s;
  const units = Buffer.from(s, 'utf16le');
  for (let i = 0; i < units.length; i += 2) {
    if (units[i] === 0 && units[i + 1] === 0) {
      units[i] = 0xfd;
      units[i + 1] = 0xff;
    }
  }
  return units.toString('utf16le');
};
/** `clean` over every string of a parsed message; copies only what changes (nearly always nothing: no garbage). */
const cleanDeep = <T>(v: T): T => {
  if (typeof v === 'string') return clean(v) as T;
  if (Array.isArray(v)) {
    const items: unknown[] = v;
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const x = cleanDeep(items[i]);
      if (x !== items[i]) (out ??= items.slice())[i] = x;
    }
    return (out ?? v) as T;
  }
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(v)) {
      const before = (v as Record<string, unknown>)[k];
      const x = cleanDeep(before);
      if (x !== before) (out ??= { ...(v as Record<string, unknown>) })[k] = x;
    }
    return (out ?? v) as T;
  }
  return v;
};
const addresses = (a: AddressObject | AddressObject[] | undefined): AddressEntry[] => {
  const list = a === undefined ? [] : Array.isArray(a) ? a : [a];
  const out: AddressEntry[] = [];
  const walk = (values: { address?: string; name?: string; group?: unknown[] }[]) => {
    for (const v of values) {
      if (Array.isArray(v.group)) walk(v.group as typeof values);
      else if (v.address || v.name) out.push({ address: (v.address ?? '').toLowerCase(), name: v.name || null });
    }
  };
  for (const obj of list) walk(obj.value ?? []);
  return out;
};

/**
 * The Date header as a send time, or null. JavaScript reads years that PostgreSQL's `timestamptz` cannot hold
 * (before 4713 BC), and ISO 8601 (the API's format) has four-digit years: outside years 1–9999 a Date is not a
 * plausible send time (the header itself stays in `headers` and the raw message).
 */
export const sendTime = (d: Date | undefined | null): Date | null => {
  if (!d || Number.isNaN(d.getTime())) return null;
  const year = d.getUTCFullYear();
  return year >= 1 && year <= 9999 ? d : null;
};

/**
 * mailparser puts the time of parsing in place of a Date header it cannot read (`Date: soon`, an empty one):
 * such a message has no send time. Read as mailparser reads it: the first Date header, `new Date(value)`.
 */
const unreadableDate = (headers: HeaderEntry[]) => {
  const date = headers.find((h) => h.name === 'date');
  return date !== undefined && Number.isNaN(new Date(date.value).getTime());
};

const toMessage = (m: ParsedMail, raw: Buffer, limits: ExtractLimits, parse: ParseLimits): ParsedMessage => {
  const from = addresses(m.from)[0];
  const html = typeof m.html === 'string' ? m.html : null;
  const headers = splitHeaders(headerBlock(raw, parse.maxHeaderBlockBytes), parse);
  return {
    ...extractFromMessage({ subject: m.subject ?? null, text: m.text ?? null, html }, limits),
    messageIdHeader: m.messageId ?? null,
    fromAddress: from?.address || null,
    fromName: from?.name || null,
    to: addresses(m.to),
    cc: addresses(m.cc),
    replyTo: addresses(m.replyTo),
    subject: m.subject ?? null,
    text: m.text ?? null,
    html,
    headers,
    attachments: m.attachments.map((a, index) => ({
      index,
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      contentId: a.contentId ?? null,
      disposition: a.contentDisposition ?? null,
      checksum: a.checksum ?? null,
    })),
    attachmentParts: null,
    sentAt: unreadableDate(headers) ? null : sendTime(m.date),
    parseError: null,
  };
};

/**
 * The address of a From value the parser could not read: the first "<...>" or bare word with an "@",
 * whichever comes first (what /<([^>]+)>|([^\s<>]+@[^\s<>]+)/ finds), in linear time. That regex
 * restarted at every "<" and at every character of a word and rescanned to the end: quadratic on a
 * value of "<" characters or one long word (over a minute for a 256 KB value).
 */
export function addressInFrom(value: string): string | undefined {
  // an angle match needs a ">" after it: search only up to the last one, so a failed "<" costs nothing more
  const angle = /<([^>]+)>/.exec(value.slice(0, value.lastIndexOf('>') + 1));
  // a bare address starts where a run of address characters starts (a match inside a run would also
  // match from the run's start, which comes first)
  const bare = /(?<![^\s<>])[^\s<>]+@[^\s<>]+/.exec(value);
  if (angle && (!bare || angle.index < bare.index)) return angle[1];
  return bare?.[0];
}

/** Encoded words decoded as mailparser would (a value the decoder chokes on stays as it is). */
const decodedOrAsIs = (value: string) => {
  try {
    return decodeEncodedWords(value);
  } catch {
    return value;
  }
};

/** What we keep of a message the parser gave up on: its headers, found by a tolerant split. */
export function fallbackParse(raw: Buffer, reason: string, limits: ParseLimits): ParsedMessage {
  const headers = splitHeaders(headerBlock(raw, limits.maxHeaderBlockBytes), limits);
  const get = (n: string) => headers.find((h) => h.name === n)?.value ?? null;
  const from = get('from');
  const subject = get('subject');
  return {
    messageIdHeader: get('message-id'),
    fromAddress: from === null ? null : (addressInFrom(from)?.toLowerCase() ?? null),
    fromName: null,
    to: [],
    cc: [],
    replyTo: [],
    subject: subject === null ? null : decodedOrAsIs(subject),
    text: null,
    html: null,
    headers,
    attachments: [],
    attachmentParts: null,
    sentAt: null,
    parseError: headCodePoints(reason, limits.maxErrorNoteChars),
    codes: [],
    links: [],
  };
}

/**
 * The parse ran out of its wall-clock limit (PARSE_TIMEOUT_MS). Unlike an error of the parser, this can be a
 * matter of load (other parses share the thread), so the delivery retries it in isolation before it keeps the
 * message as a parse failure (processor.ts, parse-retry.ts).
 */
export class ParseTimedOut extends Error {
  constructor(readonly timeoutMs: number) {
    super(`parser gave up after ${timeoutMs} ms`);
    this.name = 'ParseTimedOut';
  }
}

/**
 * Parse with mailparser under a time limit (or, for one ASCII text/plain part or a text + HTML multipart/alternative,
 * a fast path with the same result; `simplePath: false` forces mailparser, for the differential test). A message the parser cannot handle
 * is kept with what could be read and a parse error note (a permanent outcome, never a retry). A timeout is kept
 * the same way, unless `timeoutIsFinal: false`: then it rejects with ParseTimedOut, for the caller to retry later.
 *
 * The limit is wall-clock time, not CPU time, on purpose: it is what bounds how long a job holds its slot and
 * its memory, whatever the cause (a pathological message or a busy thread), and one parse's own CPU time cannot
 * be measured while other parses interleave with it on the same thread (process.cpuUsage counts the thread, GC
 * included). What would make a wall-clock limit depend on load is handled where the outcome is decided: a timeout
 * is retried at low concurrency, under PARSE_RETRY_TIMEOUT_MS, before it is stored as a failure.
 */
export async function parseRaw(
  raw: Buffer,
  timeoutMs: number,
  limits: ExtractLimits,
  parse: ParseLimits,
  opts: { simplePath?: boolean; timeoutIsFinal?: boolean } = {},
): Promise<ParsedMessage> {
  try {
    // one ASCII text/plain part, or multipart/alternative of text and HTML: the same fields without mailparser's
    // streams (src/pipeline/parse-simple.ts, parse-alternative.ts)
    const parsed =
      (opts.simplePath === false ? undefined : (parseSimpleText(raw) ?? parseAlternative(raw))) ??
      (await within(
        simpleParser(raw, {
          skipImageLinks: true,
          skipTextToHtml: true,
          maxHtmlLengthToParse: parse.maxHtmlToTextChars,
        }),
        timeoutMs,
        () => new ParseTimedOut(timeoutMs),
      ));
    const message = toMessage(parsed, raw, limits, parse);
    // only where there is something to download: mail without attachments costs nothing more
    if (parsed.attachments.length > 0)
      message.attachmentParts = await locateAttachments(raw, parsed.attachments, timeoutMs);
    return cleanDeep(message);
  } catch (err) {
    if (err instanceof ParseTimedOut && opts.timeoutIsFinal === false) throw err;
    return cleanDeep(fallbackParse(raw, `parse failed: ${(err as Error).message}`, parse));
  }
}

/**
 * Re-parse a stored raw message and return attachment `index` with its bytes (for downloads). Like the delivery
 * parse, it gives up (rejects) after `timeoutMs`.
 */
export async function extractAttachment(raw: Buffer, index: number, timeoutMs: number) {
  const parsed = await within(
    simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true }),
    timeoutMs,
    `parser gave up after ${timeoutMs} ms`,
  );
  const a = parsed.attachments[index];
  if (!a) return undefined;
  const type = a.headers.get('content-type') as { params?: Record<string, unknown> } | undefined;
  const charset = typeof type?.params?.charset === 'string' ? type.params.charset : null;
  return {
    filename: a.filename === undefined ? null : clean(a.filename),
    contentType: a.contentType,
    charset,
    content: a.content,
  };
}
