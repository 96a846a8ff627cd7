/**
 * A small, bounded MIME reader for bounce messages (pure, no I/O): the top-level header block, and the leaves of
 * the multipart tree. It never descends into `message/*` or `text/rfc822-headers` parts, so the returned
 * message's own headers are never read as the bounce's. Everything is read as latin1 (bytes stay bytes); text
 * parts are transfer-decoded and read as UTF-8.
 */
export interface Header {
  /** lower-case */
  name: string;
  /** unfolded, trimmed */
  value: string;
}

export interface MimeLeaf {
  type: string;
  params: Record<string, string>;
  headers: Header[];
  /** transfer-decoded bytes */
  body: Buffer;
}

const MAX_HEADERS = 500;
const MAX_DEPTH = 5;
const MAX_PARTS = 64;

/** Where the header block ends: `{ head, body }` as latin1 strings (no blank line: all head, empty body). */
export function splitHead(raw: string): { head: string; body: string } {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return { head: raw, body: '' };
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { head: raw.slice(0, crlf), body: raw.slice(crlf + 4) };
  return { head: raw.slice(0, lf), body: raw.slice(lf + 2) };
}

/** Header fields of a block, unfolded, in order (at most 500). */
export function parseHeaders(head: string): Header[] {
  const out: Header[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      const last = out[out.length - 1]!;
      last.value = `${last.value} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (out.length >= MAX_HEADERS) break;
    out.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return out;
}

export const headerValue = (headers: readonly Header[], name: string): string | undefined =>
  headers.find((h) => h.name === name)?.value;

/** `type/subtype; a=b; c="d"` → lower-case type and parameters (names lower-case). */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const [first = '', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (const m of rest.join(';').matchAll(re)) {
    const v = m[2]!;
    params[m[1]!.toLowerCase()] = v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
  }
  return { type: first.trim().toLowerCase() || 'text/plain', params };
}

function decodeQuotedPrintable(s: string): Buffer {
  const text = s.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 61 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeBody(body: string, encoding: string | undefined): Buffer {
  const cte = (encoding ?? '').trim().toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body, 'latin1');
}

/** The body parts of a multipart body between `--boundary` lines (the preamble and epilogue dropped). */
function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  const lines = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith(delimiter)) {
      if (current) parts.push(current.join('\r\n'));
      if (line.slice(delimiter.length).startsWith('--')) return parts;
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) parts.push(current.join('\r\n')); // a truncated message: keep what came
  return parts;
}

/** The leaves of a message (at most 64, nesting at most 5 deep); `message/*` parts are leaves, never entered. */
export function mimeLeaves(raw: string): MimeLeaf[] {
  const leaves: MimeLeaf[] = [];
  const visit = (entity: string, depth: number) => {
    if (leaves.length >= MAX_PARTS) return;
    const { head, body } = splitHead(entity);
    const headers = parseHeaders(head);
    const { type, params } = parseContentType(headerValue(headers, 'content-type'));
    if (type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH) {
      for (const part of splitMultipart(body, params.boundary)) visit(part, depth + 1);
      return;
    }
    leaves.push({ type, params, headers, body: decodeBody(body, headerValue(headers, 'content-transfer-encoding')) });
  };
  visit(raw, 0);
  return leaves;
}
