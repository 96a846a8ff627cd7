import test from 'ava';
import { blankNoise } from '../../../src/extract/codes.js';

// blankNoise leaves out the alternatives that cannot match (no "://", no "@", no digit). It must blank
// exactly what the one full alternation blanks, on any input.
const FULL =
  /\bhttps?:\/\/\S+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+\d[\d ().-]{6,18}\d|\(\d{3}\) ?\d{3}[ .-]\d{4}\b|\b\d{3}[ .-]\d{3}[ .-]\d{4}\b/gi;
const reference = (s: string) => s.replace(FULL, (m) => ' '.repeat(m.length));

// pieces that make URLs, addresses and phone numbers (and near misses) likely when strung together
const PIECES = [
  'http',
  'HTTPS',
  '://',
  'a',
  'b.c',
  'x@',
  '@',
  'mail',
  '.org',
  '-',
  '+',
  '(',
  ')',
  ' ',
  '.',
  '1',
  '23',
  '456',
  '7890',
  '555',
  '\n',
  '_',
  '/',
  'code',
];

test('the same blanks as the full alternation on generated text', (t) => {
  let seed = Number(process.env.PARSE_FUZZ_SEED ?? 20261202);
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const cases = Number(process.env.PARSE_FUZZ_CASES ?? 20_000);
  let blanked = 0;
  for (let i = 0; i < cases; i++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * 24);
    for (let j = 0; j < n; j++) s += PIECES[Math.floor(rnd() * PIECES.length)];
    const want = reference(s);
    if (want !== s) blanked++;
    if (blankNoise(s) !== want) {
      t.fail(`differs on ${JSON.stringify(s)}: ${JSON.stringify(blankNoise(s))} vs ${JSON.stringify(want)}`);
      return;
    }
  }
  t.true(blanked > cases / 10, `only ${blanked} of ${cases} inputs had anything to blank: the generator is too weak`);
});

test('examples: each kind alone and together', (t) => {
  for (const s of [
    'Your code is 482913',
    'Visit https://example.com/verify?c=1 or write to help@example.com',
    'Call +1 (555) 123-4567 or 555.123.4567; code 7261',
    'no digits, no at sign, no scheme',
    '',
  ])
    t.is(blankNoise(s), reference(s), s);
});
