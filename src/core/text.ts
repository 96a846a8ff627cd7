/**
 * Cutting strings by characters: Unicode code points, as `for...of` walks them (a lone UTF-16 surrogate
 * counts as one). A cut never splits a surrogate pair, so a cut of a well-formed string stays well-formed.
 */

/** Code points in `s`. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** The first `max` code points of `s` (all of it when it has no more); walks only what it keeps. */
export function headCodePoints(s: string, max: number): string {
  if (s.length <= max) return s; // never more code points than UTF-16 code units
  let n = 0;
  let end = 0;
  for (const c of s) {
    if (n === max) break;
    n += 1;
    end += c.length;
  }
  return s.slice(0, end);
}
