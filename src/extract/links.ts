import { anchorsOf, type Anchor } from './html-text.js';

export type FoundIn = 'subject' | 'text' | 'html';

export interface FoundLink {
  url: string;
  text: string | null;
  foundIn: FoundIn[];
}

export interface LinkLimits {
  maxLinks: number;
  maxUrlLength: number;
}

/** http(s) URLs in plain text; trailing punctuation that ends a sentence is not part of the URL. */
// a parenthesis belongs to the URL only in a balanced pair (https://en.wikipedia.org/wiki/Foo_(bar)), so a URL in
// parentheses or a Markdown link still ends before its ")"; linear (no character can start both alternatives)
const TEXT_URL = /\bhttps?:\/\/(?:[^\s<>"'()[\]{}]|\([^\s<>"'()[\]{}]*\))+/gi;

/**
 * Drop trailing sentence punctuation. A loop from the end, not /[.,;:!?*]+$/: that regex restarts at
 * every punctuation character of a run and rescans it to the end, so a URL followed by a long run of
 * dots and then one more character was quadratic (seconds for a 128 KB run).
 */
const TAIL = new Set('.,;:!?*');
function trimTail(url: string): string {
  let end = url.length;
  while (end > 0 && TAIL.has(url[end - 1]!)) end--;
  return url.slice(0, end);
}

function normalize(url: string, maxLength: number): string | undefined {
  if (url.length > maxLength) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.toString();
  } catch {
    return undefined;
  }
}

/**
 * Every http(s) link in the HTML (with its anchor text) and in the text part (with the text of a
 * "label <url>" or markdown "[label](url)" when there is one), de-duplicated by normalized URL, in
 * order of first appearance. HTML anchor text wins over a text-part label.
 */
export function extractLinks(
  parts: { text: string | null; html: string | null },
  limits: LinkLimits,
  /** the HTML's anchors when the caller has them already (anchorsOf(parts.html)) */
  anchors?: Anchor[],
): FoundLink[] {
  const byUrl = new Map<string, FoundLink>();
  const add = (raw: string, text: string | null, where: FoundIn) => {
    const url = normalize(raw, limits.maxUrlLength);
    if (!url) return;
    const seen = byUrl.get(url);
    if (seen) {
      if (!seen.foundIn.includes(where)) seen.foundIn.push(where);
      if (!seen.text && text) seen.text = text;
      return;
    }
    if (byUrl.size < limits.maxLinks) byUrl.set(url, { url, text: text || null, foundIn: [where] });
  };
  if (parts.html) {
    for (const a of anchors ?? anchorsOf(parts.html)) add(a.href, a.text && a.text !== a.href ? a.text : null, 'html');
  }
  if (parts.text) {
    for (const m of parts.text.matchAll(TEXT_URL)) {
      const url = trimTail(m[0]);
      const before = parts.text.slice(Math.max(0, m.index - 120), m.index);
      const label =
        /\[([^\]\n]{1,100})\]\($/.exec(before)?.[1] ??
        /(?:^|\n)([^\n<>:]{1,80})(?::\s*|\s*<)$/.exec(before)?.[1]?.trim();
      add(url, label ?? null, 'text');
    }
  }
  return [...byUrl.values()];
}
