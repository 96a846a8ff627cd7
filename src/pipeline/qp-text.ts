/**
 * The text of a quoted-printable text part, as the fast paths read it: exactly what
 * `libqp.decode(bytes).toString().replace(/\r?\n/g, '\n')` gives (libqp 3.0.1, the version mailsplit uses), in
 * two passes over the bytes instead of two regular-expression replaces over a latin1 string, a counting pass and a
 * decoding pass over its char codes (10 % of the delivery worker's CPU on a 50 KB HTML message, issue 23).
 * test/unit/qp-text.test.ts compares it with libqp on generated and adversarial input.
 *
 * libqp.decode, step by step, and how each step is done here:
 * 1. every run of spaces and tabs followed by CR, LF or the end of the input is removed
 *    (`/(^|[^ \t])[ \t]+(?=[\n\r\u2028\u2029]|$)/g`; U+2028/9 cannot occur in a byte string);
 * 2. on what step 1 left, every `=` followed by CRLF, LF or the end is removed with its line break (a soft line
 *    break; one left-to-right pass, so a removal does not join an earlier `=` to a later break);
 * 3. on what step 2 left, `=` and two hex digits (either case) become that byte; anything else is copied.
 * Pass 1 does steps 1 and 2 (`floor`: the output before it was not next to what follows in step 1's output, since
 * a soft break was removed in between); pass 2 does step 3 and CRLF -> LF (byte 0x0d never occurs inside a UTF-8
 * sequence, and ends an incomplete one as 0x0a does, so dropping it before the UTF-8 decode changes nothing else).
 */
export function qpText(input: Buffer): string {
  const len = input.length;
  const mid = Buffer.allocUnsafe(len);
  let m = 0;
  let floor = 0;
  // pass 1, line by line: what lies between two line-break bytes (CR or LF) is copied whole, but for its
  // trailing spaces and tabs
  let lf = input.indexOf(0x0a);
  let cr = input.indexOf(0x0d);
  for (let at = 0; ;) {
    if (lf !== -1 && lf < at) lf = input.indexOf(0x0a, at);
    if (cr !== -1 && cr < at) cr = input.indexOf(0x0d, at);
    const t = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    const stop = t === -1 ? len : t;
    let w = stop;
    while (w > at && (input[w - 1] === 0x20 || input[w - 1] === 0x09)) w--; // step 1
    if (w > at) m += input.copy(mid, m, at, w);
    if (t === -1) break;
    if (t === lf) {
      // step 2: `=` LF or `=` CR LF just written is a soft line break
      if (m - 1 >= floor && mid[m - 1] === 0x3d) {
        floor = m -= 1;
        at = t + 1;
        continue;
      }
      if (m - 2 >= floor && mid[m - 1] === 0x0d && mid[m - 2] === 0x3d) {
        floor = m -= 2;
        at = t + 1;
        continue;
      }
    }
    mid[m++] = input[t]!;
    at = t + 1;
  }
  if (m - 1 >= floor && mid[m - 1] === 0x3d) m -= 1; // step 2: `=` at the end
  // pass 2, in place (the output never overtakes the input): escapes, and CR LF as LF whether each byte was
  // written as itself or as an escape; what lies between an `=` or CR and the next is moved whole
  let o = 0;
  let eq = mid.indexOf(0x3d);
  let cr2 = mid.indexOf(0x0d);
  /** the byte at i on, as step 3 reads it: [value, bytes it takes] */
  const byteAt = (i: number): number => {
    const c = mid[i]!;
    if (c === 0x3d && i < m - 2) {
      const hi = hexValue(mid[i + 1]!);
      const lo = hi < 0 ? -1 : hexValue(mid[i + 2]!);
      if (lo >= 0) return (hi * 16 + lo) | 0x300; // 3 bytes taken
    }
    return c | 0x100;
  };
  for (let i = 0; i < m;) {
    if (eq !== -1 && (eq < i || eq >= m)) eq = eq >= m ? -1 : mid.indexOf(0x3d, i);
    if (cr2 !== -1 && (cr2 < i || cr2 >= m)) cr2 = cr2 >= m ? -1 : mid.indexOf(0x0d, i);
    let next = eq === -1 ? cr2 : cr2 === -1 ? eq : Math.min(eq, cr2);
    if (next === -1 || next >= m) next = m;
    if (next > i) {
      mid.copyWithin(o, i, next);
      o += next - i;
      i = next;
      if (i >= m) break;
    }
    let v = byteAt(i);
    i += v >> 8;
    v &= 0xff;
    if (v === 0x0d && i < m) {
      const after = byteAt(i);
      if ((after & 0xff) === 0x0a) {
        i += after >> 8;
        v = 0x0a;
      }
    }
    mid[o++] = v;
  }
  return mid.toString('utf8', 0, o);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}
