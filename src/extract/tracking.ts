import { decodeHTMLAttribute } from 'entities';
import { QuoteType, Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/**
 * Open and click tracking for an outbound HTML part (pure: no I/O, no secrets; the caller builds the URLs).
 * - every `<a href>` whose destination is http(s) gets `clickUrl(destination)`, the destination being the
 *   attribute's value with its entities decoded once (`&amp;` → `&`), trimmed as a browser trims it, and
 *   otherwise exactly as written (query, fragment, percent-encoding); `mailto:`, `#…`, relative and other links
 *   stay as they are, and so does everything else in the document, byte for byte;
 * - `openUrl`, when given: a 1×1 image before the last `</body>`, or at the end when there is none.
 * Only the first `href` of a tag counts, as in a browser.
 */
export interface TrackingRewrite {
  openUrl?: string;
  clickUrl?: (destination: string) => string;
}

const escapeAttribute = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export const isTrackableLink = (destination: string) => /^https?:\/\/[^\s]/i.test(destination);

export function pixelTag(openUrl: string): string {
  return `<img src="${escapeAttribute(openUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
}

export function rewriteTrackedHtml(html: string, t: TrackingRewrite): string {
  const edits: Array<{ start: number; end: number; text: string }> = [];
  if (t.clickUrl) {
    const clickUrl = t.clickUrl;
    let tag = '';
    let attr = '';
    let seenHref = false;
    let valueStart = -1;
    let valueEnd = -1;
    const noop = () => {};
    const cbs: TokenizerCallbacks = {
      onopentagname(start, end) {
        tag = html.slice(start, end).toLowerCase();
        seenHref = false;
      },
      onattribname(start, end) {
        attr = tag === 'a' ? html.slice(start, end).toLowerCase() : '';
        valueStart = -1;
        valueEnd = -1;
      },
      onattribdata(start, end) {
        if (attr !== 'href') return;
        if (valueStart < 0) valueStart = start;
        valueEnd = end;
      },
      onattribend(quote) {
        if (attr === 'href' && !seenHref) {
          seenHref = true;
          if (valueStart >= 0) {
            const destination = decodeHTMLAttribute(html.slice(valueStart, valueEnd)).trim();
            if (isTrackableLink(destination)) {
              const url = escapeAttribute(clickUrl(destination));
              edits.push({
                start: valueStart,
                end: valueEnd,
                text: quote === QuoteType.Unquoted ? `"${url}"` : url,
              });
            }
          }
        }
        attr = '';
      },
      ontext: noop,
      onopentagend: noop,
      onselfclosingtag: noop,
      onclosetag: noop,
      ontextentity: noop,
      onattribentity: noop,
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
  if (t.openUrl) {
    const at = html.toLowerCase().lastIndexOf('</body');
    edits.push({ start: at < 0 ? html.length : at, end: at < 0 ? html.length : at, text: pixelTag(t.openUrl) });
  }
  if (edits.length === 0) return html;
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += html.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + html.slice(at);
}
