import { codePointLength, headCodePoints } from '../core/text.js';

/**
 * Response headers for an attachment download, built from what a (possibly hostile) message says.
 * Both are total: any string in, a header value Node accepts out. A filename or media type straight from
 * the MIME part once made the download a 500 (encodeURIComponent throws on a lone surrogate; Node refuses
 * a header with a control character or one above U+00FF), and a 100,000-character filename made a
 * header of over 100 KB that HTTP clients refuse (Node's fetch stops at 16 KB).
 */

/** RFC 8187 attr-char: what may stand unencoded in an ext-value; everything else is %XX of its UTF-8. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

const extValue = (s: string) => {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
};

/**
 * The name cut to `maxChars` characters (code points; a lone surrogate is one): a surrogate pair is never
 * split. The extension (from the last dot, which is not the first character, with at least one character
 * after it) is kept when it is at most half of `maxChars`: `<cut stem><extension>`.
 */
export function boundFilename(name: string, maxChars: number): string {
  if (name.length <= maxChars || codePointLength(name) <= maxChars) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot) : '';
  const extChars = codePointLength(ext);
  if (extChars >= 2 && extChars <= Math.floor(maxChars / 2))
    return headCodePoints(name.slice(0, dot), maxChars - extChars) + ext;
  return headCodePoints(name, maxChars);
}

/**
 * RFC 6266 Content-Disposition: an ASCII fallback `filename` (printable ASCII but the quote, backslash
 * and percent sign; any other character, CR, LF and the other control characters included, becomes one
 * "_") and the name as UTF-8 in `filename*`. A lone surrogate is written as U+FFFD (Buffer's UTF-8
 * does that), so `filename*` always decodes. The name is first cut to `maxChars` characters
 * (ATTACHMENT_FILENAME_MAX_CHARS, boundFilename): one character costs at most 13 bytes of header (4 UTF-8
 * bytes as %XX, one "_"), so the header is at most 42 + 13 x maxChars bytes.
 */
export function contentDisposition(filename: string | null | undefined, maxChars: number): string {
  if (!filename) return 'attachment';
  const name = boundFilename(filename, maxChars);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/gu, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}

/** RFC 9110 token characters: a media type is token "/" token. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A charset name as the part gives it, if it is a token (RFC 2978 names are). */
const CHARSET = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * The Content-Type of a download: the part's media type if it is a well-formed type/subtype, else
 * application/octet-stream, with the part's own `charset` when it declares a well-formed one. The bytes are
 * served as they are in the message (never transcoded), so the charset must be the part's: a latin-1 text
 * attachment once went out as `charset=utf-8` (Koa adds that to any text type set through ctx.type).
 */
export function attachmentContentType(contentType: string | false | null | undefined, charset?: string | null): string {
  const type =
    typeof contentType === 'string' && MEDIA_TYPE.test(contentType) ? contentType : 'application/octet-stream';
  return type !== 'application/octet-stream' && typeof charset === 'string' && CHARSET.test(charset)
    ? `${type}; charset=${charset}`
    : type;
}
