import { walkHtml, type HtmlVisitor } from './html-walk.js';

/**
 * What extraction reads from HTML: the visible text (block elements become line breaks, inline ones
 * vanish, so "<b>12</b><b>34</b>" reads "1234"; script, style, head, title and comments are not text)
 * and the anchors with their text. Not a renderer: it only has to be right about text and links in
 * real-world notification emails. Linear in the input (see html-walk.ts).
 */

/** zero-width characters and the soft hyphen, which a reader does not see */
const tidy = (s: string) =>
  s
    .replace(/[\u200b-\u200d\ufeff\u00ad]/g, '')
    .replace(/[ \t\r\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[\n ]*/g, '\n')
    .trim();

/** the visible text, collected by a visitor */
function textReader() {
  let out = '';
  const visitor: HtmlVisitor = {
    text: (s) => {
      out += s;
    },
    block: () => {
      out += '\n';
    },
    anchorOpen: () => {},
    anchorClose: () => {},
  };
  return { visitor, result: () => tidy(out) };
}

export function htmlToText(html: string): string {
  const r = textReader();
  walkHtml(html, r.visitor);
  return r.result();
}

export interface Anchor {
  href: string;
  text: string;
}

/** An anchor never closed takes the text of at most this many characters of HTML after its tag. */
const UNCLOSED_ANCHOR_SPAN = 2_000;

interface OpenAnchor {
  href: string;
  text: string;
  spanEnd: number;
  cut: number;
}

/**
 * Every <a href> with its visible text (whitespace collapsed). An anchor ends at its </a>, at the next
 * <a> (anchors do not nest in HTML) or, never closed, UNCLOSED_ANCHOR_SPAN characters after its tag.
 */
export function anchorsOf(html: string): Anchor[] {
  const r = anchorReader();
  walkHtml(html, r.visitor);
  return r.result();
}

/** the anchors, collected by a visitor (see anchorsOf) */
function anchorReader() {
  const out: Anchor[] = [];
  let open: OpenAnchor | null = null;
  const end = (closed: boolean) => {
    if (!open) return;
    const text = closed || open.cut < 0 ? open.text : open.text.slice(0, open.cut);
    out.push({ href: open.href.trim(), text: tidy(text).replace(/\s+/g, ' ') });
    open = null;
  };
  const visitor: HtmlVisitor = {
    wantsText: () => open !== null,
    text(s, start) {
      if (!open) return;
      if (open.cut < 0 && start >= open.spanEnd) open.cut = open.text.length;
      open.text += s;
    },
    block() {
      if (open) open.text += '\n';
    },
    anchorOpen(href, tagEnd) {
      end(true);
      if (href !== undefined) open = { href, text: '', spanEnd: tagEnd + UNCLOSED_ANCHOR_SPAN, cut: -1 };
    },
    anchorClose() {
      end(true);
    },
  };
  return {
    visitor,
    result: () => {
      end(false);
      return out;
    },
  };
}

/**
 * htmlToText and anchorsOf in one walk (extraction needs both of every HTML part: one tokenizer pass instead of
 * two); the same two visitors, so the same results.
 */
export function readHtml(html: string): { text: string; anchors: Anchor[] } {
  const [t, a] = [textReader(), anchorReader()];
  walkHtml(html, {
    text(s, start) {
      t.visitor.text(s, start);
      a.visitor.text(s, start);
    },
    block() {
      t.visitor.block();
      a.visitor.block();
    },
    anchorOpen(href, tagEnd) {
      a.visitor.anchorOpen(href, tagEnd);
    },
    anchorClose() {
      a.visitor.anchorClose();
    },
  });
  return { text: t.result(), anchors: a.result() };
}
