import { extractCodes, type FoundCode } from './codes.js';
import { readHtml } from './html-text.js';
import { extractLinks, type FoundLink } from './links.js';

export type { FoundCode } from './codes.js';
export type { FoundLink, FoundIn } from './links.js';

export interface ExtractLimits {
  maxCodes: number;
  maxLinks: number;
  maxUrlLength: number;
  maxInputChars: number;
}

/** Codes and links of one parsed message (computed once, in the worker, at parse time). */
export function extractFromMessage(
  m: { subject: string | null; text: string | null; html: string | null },
  limits: ExtractLimits,
): { codes: FoundCode[]; links: FoundLink[] } {
  const cap = (s: string | null) => (s === null ? null : s.slice(0, limits.maxInputChars));
  const parts = { subject: cap(m.subject), text: cap(m.text), html: cap(m.html) };
  // one walk over the HTML for both (its visible text for codes, its anchors for links)
  const html = parts.html ? readHtml(parts.html) : undefined;
  return { codes: extractCodes(parts, limits, html?.text), links: extractLinks(parts, limits, html?.anchors) };
}
