// node --import tsx bench/extract-noise.ts: time blankNoise (src/extract/codes.ts) against the one full
// alternation it replaced, on the ingest bench's message bodies (no URL, no address) and on one with both.
import { blankNoise } from '../src/extract/codes.js';

const FULL =
  /\bhttps?:\/\/\S+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+\d[\d ().-]{6,18}\d|\(\d{3}\) ?\d{3}[ .-]\d{4}\b|\b\d{3}[ .-]\d{3}[ .-]\d{4}\b/gi;
const full = (s: string) => s.replace(FULL, (m) => ' '.repeat(m.length));
const LINE = 'The quick brown fox jumps over the lazy dog; Mailwright load test body line. 0123456789';
const body = (lines: number) =>
  Array.from({ length: lines }, (_, i) => `${String(i).padStart(5, '0')} ${LINE}`.slice(0, 76)).join('\r\n');
const inputs: Array<[string, string]> = [
  ['2 KB bench body', body(26)],
  ['50 KB bench body', body(650)],
  ['2 KB with URL and address', `${body(25)} https://x.test/a?b=1 help@x.test`],
];
for (const [name, s] of inputs) {
  for (const [label, f] of [
    ['one alternation', full],
    ['blankNoise', blankNoise],
  ] as const) {
    for (let i = 0; i < 200; i++) f(s);
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f(s);
    console.log(`${name.padEnd(28)} ${label.padEnd(16)} ${(((performance.now() - t0) / n) * 1000).toFixed(1)} µs`);
  }
}
