import { htmlToText } from './html-text.js';
import type { FoundIn } from './links.js';

export interface FoundCode {
  code: string;
  foundIn: FoundIn[];
  context: string;
}
export interface CodeLimits {
  maxCodes: number;
}

/** Words that announce a one-time code, with a weight (strong words alone are enough). */
const KEYWORDS: Array<[RegExp, number, boolean?]> = [
  // with the same words in other languages, in the same pass: German and Dutch compounds (Bestätigungscode,
  // Sicherheitscode), código, codice, kod/kód/kode/koodi
  [
    /\b(?:codes?|otp|one[- ]?time|passcode|pass code|pin|verification|verify|2fa|mfa|two[- ]factor)\b|\b(?:c[oó]digos?|codice|k[oó]d|kode|koodi|pin-?code|(?:bestätigungs|sicherheits|verifizierungs|anmelde|zugangs|einmal|aktivierungs|bevestigings|verificatie|beveiligings|inlog)code)(?![\wÀ-ɏ])/gi,
    3,
  ],
  // Cyrillic and the CJK words, which stand without spaces (認証コード, 验证码, 인증번호): only in text that is
  // not all ASCII
  [/(?<![а-яё])код(?:а|у|ом)?(?![а-яё])|コード|認証|验证码|驗證碼|校验码|动态码|인증\s?번호|인증\s?코드/gi, 3, true],
  [/\b(?:confirm(?:ation)?|security|authenticat\w*|log ?in|sign[- ]?in|token|password|access)\b/gi, 1],
];
/** a strong word may precede the code by this many characters (a sentence, then the code in a box)... */
const BEFORE_STRONG = 160;
const BEFORE_WEAK = 40;
/** ...or follow it in the same sentence ("123456 is your code") */
const AFTER = 40;

interface Candidate {
  code: string;
  start: number;
  end: number;
  numeric: boolean;
}

/**
 * Blank out URLs, e-mail addresses and phone numbers (same length, so positions stay valid): their
 * digits and tokens are not codes. Linear time: an address match may only start where a run of
 * address characters starts (the look-behind); without it, every position of a long word would rescan
 * the rest of the word looking for "@" (quadratic: a 100 KB word blocked the worker for seconds).
 */
const NOISE: Array<{ pattern: string; present: (s: string) => boolean }> = [
  { pattern: String.raw`\bhttps?:\/\/\S+`, present: (s) => s.includes('://') },
  { pattern: String.raw`(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+`, present: (s) => s.includes('@') },
  {
    pattern: String.raw`\+\d[\d ().-]{6,18}\d|\(\d{3}\) ?\d{3}[ .-]\d{4}\b|\b\d{3}[ .-]\d{3}[ .-]\d{4}\b`,
    present: (s) => /\d/.test(s),
  },
  // dates: 2026-11-23 (ISO), 23.11.2026, 11/23/26 (the year of an ISO date was taken for a code)
  {
    pattern: String.raw`\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b`,
    present: (s) => /\d[-./]\d/.test(s),
  },
];
/** One regex per combination of the alternatives that can match (in the original order), made once. */
const noiseRegexes = new Map<number, RegExp>();
/**
 * An alternative whose required character ("://", "@", a digit) is absent cannot match anywhere, so
 * leaving it out of the alternation changes no match; what remains often starts with a rare character,
 * which the regex engine finds with a fast scan instead of trying an address at every word (measured: the
 * one full regex was the worker's most expensive single function).
 */
export const blankNoise = (s: string) => {
  let mask = 0;
  NOISE.forEach((n, i) => {
    if (n.present(s)) mask |= 1 << i;
  });
  if (mask === 0) return s;
  let re = noiseRegexes.get(mask);
  if (!re) {
    re = new RegExp(
      NOISE.filter((_, i) => mask & (1 << i))
        .map((n) => n.pattern)
        .join('|'),
      'gi',
    );
    noiseRegexes.set(mask, re);
  }
  return s.replace(re, (m) => ' '.repeat(m.length));
};

/** A currency named next to a number makes it a price ("4999 USD", "EUR 12.50", "25 euros"), never a code. */
const CURRENCY = String.raw`(?:USD|EUR|GBP|CHF|JPY|CNY|INR|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR|SGD|HKD|dollars?|euros?|pounds?|yen|francs?)`;
const CURRENCY_AFTER = new RegExp(String.raw`^\s?${CURRENCY}\b`, 'i');
const CURRENCY_BEFORE = new RegExp(String.raw`\b${CURRENCY}\s?$`, 'i');
const isPrice = (s: string, start: number, end: number) =>
  CURRENCY_AFTER.test(s.slice(end, end + 9)) || CURRENCY_BEFORE.test(s.slice(Math.max(0, start - 9), start));

function candidates(s: string): Candidate[] {
  const out: Candidate[] = [];
  // characters already covered by a candidate (an earlier pattern wins an overlap); a candidate is a
  // few characters long, so the check is O(length), not O(candidates)
  const taken = new Uint8Array(s.length);
  const push = (code: string, start: number, end: number, numeric: boolean) => {
    if (numeric && isPrice(s, start, end)) return;
    for (let i = start; i < end; i++) if (taken[i]) return;
    taken.fill(1, start, end);
    out.push({ code, start, end, numeric });
  };
  // "G-123456" (Google), "AB-1234": the digits are the code
  for (const m of s.matchAll(/\b[A-Z]{1,3}-(\d{4,8})\b/g)) push(m[1]!, m.index, m.index + m[0].length, true);
  // split codes: "123 456", "123-456", "1234 5678"
  for (const m of s.matchAll(/(?<![\w.,$€£#+/:-])(\d{3,4})[ -](\d{3,4})(?![\w%/:-]|[.,]\d)/g))
    push(m[1]! + m[2]!, m.index, m.index + m[0].length, true);
  for (const m of s.matchAll(/(?<![\w.,$€£#+/:-])\d{4,8}(?![\w%/:]|[.,]\d)/g))
    push(m[0], m.index, m.index + m[0].length, true);
  // upper-case alphanumeric with at least one letter and one digit: "X7K9P2", "AB12CD"
  for (const m of s.matchAll(/(?<![\w-])(?=[A-Z0-9]{0,7}\d)(?=[A-Z0-9]{0,7}[A-Z])[A-Z0-9]{4,8}(?![\w-])/g))
    push(m[0], m.index, m.index + m[0].length, false);
  return out;
}

type Hit = { start: number; end: number; weight: number };
/**
 * The keyword hits twice: sorted by start (keywords after a candidate) and by end (keywords before
 * it), each with its sorted positions for the binary search.
 */
interface Hits {
  byStart: Hit[];
  starts: number[];
  byEnd: Hit[];
  ends: number[];
}

function keywordHits(s: string): Hits {
  const hits: Hit[] = [];
  const ascii = /^[\x00-\x7f]*$/.test(s); // eslint-disable-line no-control-regex -- the ASCII range starts at NUL
  for (const [re, weight, nonAsciiOnly] of KEYWORDS) {
    if (nonAsciiOnly && ascii) continue;
    for (const m of s.matchAll(re)) hits.push({ start: m.index, end: m.index + m[0].length, weight });
  }
  const byStart = [...hits].sort((a, b) => a.start - b.start);
  const byEnd = hits.sort((a, b) => a.end - b.end);
  return { byStart, starts: byStart.map((h) => h.start), byEnd, ends: byEnd.map((h) => h.end) };
}

/** index of the first value >= pos in a sorted array */
function firstFrom(sorted: number[], pos: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const sameSentence = (between: string) => !/\n|[.!?](?:\s|$)/.test(between);

/** What one keyword hit makes of a candidate; 0 = out of range or not enough. */
function hitScore(text: string, c: Candidate, year: boolean, h: Hit): number {
  const before =
    h.end <= c.start && c.start - h.end <= (h.weight >= 3 ? BEFORE_STRONG : BEFORE_WEAK) ? c.start - h.end : Infinity;
  const after =
    h.start >= c.end && h.start - c.end <= AFTER && sameSentence(text.slice(c.end, h.start))
      ? h.start - c.end
      : Infinity;
  if (before === Infinity && after === Infinity) return 0;
  const distance = Math.min(before, after);
  if (!c.numeric && h.weight < 3) return 0; // alphanumeric tokens need a strong word
  // a 4-digit year is a code only right after a strong word ("code: 2024")
  if (year && !(h.weight >= 3 && before <= 15)) return 0;
  return (
    h.weight * 10 + (before !== Infinity ? 5 : 0) - distance / 10 + (c.numeric ? 3 : 0) + (c.code.length === 6 ? 2 : 0)
  );
}

/**
 * Score a candidate by the best keyword near it; 0 = not a code. Only hits that can count are looked
 * at: those ending at most BEFORE_STRONG before the candidate, and those starting at most AFTER after
 * it (the two sets are disjoint), a few dozen at most. A window on start positions alone had to reach
 * back by the longest hit, and "authenticat\w*" can be a word a third of the input long: every
 * candidate then scanned nearly every hit (quadratic: seconds at the 512 KB input cap).
 */
function score(text: string, c: Candidate, hits: Hits): number {
  const year = c.numeric && isYear(c.code);
  let best = 0;
  const { byStart, starts, byEnd, ends } = hits;
  for (let i = firstFrom(ends, c.start - BEFORE_STRONG); i < ends.length && ends[i]! <= c.start; i++)
    best = Math.max(best, hitScore(text, c, year, byEnd[i]!));
  for (let i = firstFrom(starts, c.end); i < starts.length && starts[i]! <= c.end + AFTER; i++)
    best = Math.max(best, hitScore(text, c, year, byStart[i]!));
  return best;
}

/** a 4-digit number that reads as a year (a code only right after a strong word) */
const isYear = (code: string) => /^(19|20)\d\d$/.test(code);

const contextOf = (s: string, c: Candidate) =>
  s
    .slice(Math.max(0, c.start - 60), Math.min(s.length, c.end + 30))
    .replace(/\s+/g, ' ')
    .trim();

/**
 * Likely one-time codes: 4-8 digit (also split as "123 456") or upper-case alphanumeric tokens near
 * words like code/OTP/verification/PIN, best first, each with where it was found.
 */
export function extractCodes(
  parts: { subject: string | null; text: string | null; html: string | null },
  limits: CodeLimits,
  /** the HTML's visible text when the caller has it already (htmlToText(parts.html)) */
  htmlText?: string,
): FoundCode[] {
  const found = new Map<string, FoundCode & { score: number }>();
  const sources: Array<[FoundIn, string | null]> = [
    ['subject', parts.subject],
    ['text', parts.text],
    ['html', parts.html ? (htmlText ?? htmlToText(parts.html)) : null],
  ];
  const blanked = new Map<FoundIn, string>();
  let subjectNamesACode = false;
  for (const [where, raw] of sources) {
    if (!raw) continue;
    const s = blankNoise(raw);
    blanked.set(where, s);
    const hits = keywordHits(s);
    if (where === 'subject') subjectNamesACode = hits.byStart.some((h) => h.weight >= 3);
    if (hits.byStart.length === 0) continue;
    for (const c of candidates(s)) {
      const sc = score(s, c, hits);
      if (sc <= 0) continue;
      const seen = found.get(c.code);
      if (!seen) found.set(c.code, { code: c.code, foundIn: [where], context: contextOf(raw, c), score: sc });
      else {
        if (!seen.foundIn.includes(where)) seen.foundIn.push(where);
        if (sc > seen.score) Object.assign(seen, { score: sc, context: contextOf(raw, c) });
      }
    }
  }
  // "Your verification code" in the subject and one lone number in the body: that number (nothing else in the
  // body names it, and a body with two numbers is left alone)
  if (found.size === 0 && subjectNamesACode) {
    for (const [where, raw] of sources.slice(1)) {
      const s = blanked.get(where);
      if (!raw || s === undefined) continue;
      const numbers = candidates(s).filter((c) => c.numeric && !isYear(c.code));
      if (new Set(numbers.map((c) => c.code)).size !== 1) continue;
      const c = numbers[0]!;
      const seen = found.get(c.code);
      if (seen) seen.foundIn.push(where);
      else found.set(c.code, { code: c.code, foundIn: [where], context: contextOf(raw, c), score: 1 });
    }
  }
  return [...found.values()]
    .sort((a, b) => b.score - a.score)
    .slice(0, limits.maxCodes)
    .map(({ code, foundIn, context }) => ({ code, foundIn, context }));
}
