import { decodeHTML, decodeHTMLAttribute } from 'entities';
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/**
 * One linear pass over an HTML document for extraction, on htmlparser2's Tokenizer (a streaming state
 * machine: quoted attributes may hold ">", script/style/title content is raw text, comments and
 * declarations are skipped) with entities decoded by the `entities` package, as a browser decodes them.
 *
 * Not htmlparser2's Parser: it keeps the open elements in an array it grows with unshift() and searches
 * with indexOf() on every end tag, so deeply nested unclosed tags (`<b>` repeated to the input cap) take
 * seconds; extraction runs synchronously in the worker. This walk keeps no element stack: it only needs
 * to know whether it is inside an invisible element and where anchors start and end.
 */
export interface HtmlVisitor {
  /** visible text, entities decoded; `start` is its offset in the source */
  text(s: string, start: number): void;
  /** false: the visitor has no use for the text at this point (it is then neither sliced nor decoded) */
  wantsText?(): boolean;
  /** a block element started or ended (a line break in the visible text) */
  block(): void;
  /** an `<a>` start tag; `href` is undefined when the tag has none; `tagEnd` is the offset after its ">" */
  anchorOpen(href: string | undefined, tagEnd: number): void;
  /** an `</a>` end tag */
  anchorClose(): void;
}

/** elements whose content is never shown; `head` also ends where `body` starts */
const INVISIBLE = new Set(['script', 'style', 'head', 'title']);

/** elements that break a line; every other element is inline ("<b>12</b><b>34</b>" reads "1234") */
const BLOCK = new Set([
  'p',
  'div',
  'br',
  'tr',
  'td',
  'th',
  'li',
  'ul',
  'ol',
  'table',
  'tbody',
  'thead',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'section',
  'article',
  'header',
  'footer',
  'blockquote',
  'pre',
  'hr',
  'center',
  'title',
]);

const decodeText = (s: string) => (s.includes('&') ? decodeHTML(s) : s);
const noop = () => {};

export function walkHtml(html: string, v: HtmlVisitor): void {
  let tag = '';
  let attr = '';
  let value = '';
  let href: string | undefined;
  /** inside an invisible element: the name of the end tag that ends it */
  let hiddenUntil = '';

  const startTag = (end: number) => {
    if (hiddenUntil) {
      if (hiddenUntil === 'head' && tag === 'body') hiddenUntil = '';
      return;
    }
    if (INVISIBLE.has(tag)) hiddenUntil = tag;
    else if (tag === 'a') v.anchorOpen(href, end + 1);
    else if (BLOCK.has(tag)) v.block();
  };

  const cbs: TokenizerCallbacks = {
    ontext(start, end) {
      if (!hiddenUntil && v.wantsText?.() !== false) v.text(decodeText(html.slice(start, end)), start);
    },
    onopentagname(start, end) {
      tag = html.slice(start, end).toLowerCase();
      href = undefined;
    },
    onattribname(start, end) {
      attr = tag === 'a' ? html.slice(start, end).toLowerCase() : '';
      value = '';
    },
    onattribdata(start, end) {
      if (attr === 'href') value += html.slice(start, end);
    },
    onattribend() {
      // the first of duplicate attributes wins, as in a browser
      if (attr === 'href' && href === undefined) href = decodeHTMLAttribute(value);
      attr = '';
    },
    onopentagend: startTag,
    // "<a href=x />" is a start tag in HTML; the slash is ignored
    onselfclosingtag: startTag,
    onclosetag(start, end) {
      const name = html.slice(start, end).toLowerCase();
      if (hiddenUntil) {
        if (name === hiddenUntil) hiddenUntil = '';
      } else if (name === 'a') v.anchorClose();
      else if (BLOCK.has(name)) v.block();
    },
    // decodeEntities is off (text and attribute values are decoded above), so these two never fire
    ontextentity: noop,
    onattribentity: noop,
    // comments, CDATA, <!doctype> and <?xml ?> are not text
    oncdata: noop,
    oncomment: noop,
    ondeclaration: noop,
    onprocessinginstruction: noop,
    onend: noop,
  };
  const tokenizer = new Tokenizer({ decodeEntities: false }, cbs);
  tokenizer.write(html);
  tokenizer.end();
}
