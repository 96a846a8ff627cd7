/**
 * Minimal, linear-time HTML reading for extraction: visible text (block elements become line breaks,
 * inline ones vanish, so "<b>12</b><b>34</b>" reads "1234") and anchors with their text. Not a
 * renderer: it only has to be right about text and links in real-world notification emails.
 */
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'", zwnj: '', zwj: '', shy: '' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z0-9]{2,8});/gi, (m, name: string) => {
    const n = name.toLowerCase();
    if (n.startsWith('#x')) return safeChar(parseInt(n.slice(2), 16));
    if (n.startsWith('#')) return n === '#39' ? "'" : safeChar(parseInt(n.slice(1), 10));
    return ENTITIES[n] ?? m;
  });
}

const safeChar = (code: number) => (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '');

const BLOCK = /^(?:p|div|br|tr|td|th|li|ul|ol|table|tbody|thead|h[1-6]|section|article|header|footer|blockquote|pre|hr|center|title)$/i;

/**
 * Remove comments and the content of elements that are never visible. Linear: each opener is closed
 * with one indexOf, and an unclosed one drops the rest of the document (no regex backtracking).
 */
/** ASCII-only lower-casing: keeps every index aligned with the original string. */
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (x) => x.toLowerCase());

function stripInvisible(html: string): string {
  const lower = asciiLower(html);
  const opener = /<!--|<(script|style|head|title)\b/g;
  let out = '';
  let from = 0;
  for (let m = opener.exec(lower); m; m = opener.exec(lower)) {
    out += html.slice(from, m.index) + ' ';
    const closer = m[0] === '<!--' ? '-->' : `</${m[1]}`;
    const end = lower.indexOf(closer, m.index + m[0].length);
    if (end === -1) return out;
    const gt = lower.indexOf('>', end);
    from = gt === -1 ? lower.length : gt + 1;
    opener.lastIndex = from;
  }
  return out + html.slice(from);
}

export function htmlToText(html: string): string {
  const out = stripInvisible(html).replace(/<\/?([a-z][a-z0-9]*)\b[^<>]*>/gi, (_m, tag: string) => (BLOCK.test(tag) ? '\n' : ''));
  return decodeEntities(out.replace(/<[^<>]*>/g, ''))
    .replace(/[\u200b-\u200d\ufeff]/g, '')
    .replace(/[ \t\r\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[\n ]*/g, '\n')
    .trim();
}

export interface Anchor { href: string; text: string }

/** Every <a href> with its visible text (whitespace collapsed). */
export function anchorsOf(html: string): Anchor[] {
  const out: Anchor[] = [];
  const clean = stripInvisible(html);
  const lower = asciiLower(clean);
  const open = /<a\b([^<>]*)>/gi;
  let closesLeft = true;
  for (let m = open.exec(clean); m; m = open.exec(clean)) {
    const start = m.index + m[0].length;
    const close = closesLeft ? lower.indexOf('</a', start) : -1;
    if (close === -1) closesLeft = false;
    const end = close === -1 ? Math.min(clean.length, start + 2_000) : close;
    const href = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(m[1]!);
    if (href) out.push({ href: decodeEntities((href[1] ?? href[2] ?? href[3] ?? '').trim()), text: htmlToText(clean.slice(start, end)).replace(/\s+/g, ' ').trim() });
    open.lastIndex = close === -1 ? end : close;
  }
  return out;
}
