import test from 'ava';
import { loadConfig } from '../../../src/core/config.js';
import { extractCodes } from '../../../src/extract/codes.js';
import { extractFromMessage } from '../../../src/extract/index.js';
import { parseRaw } from '../../../src/pipeline/parse.js';

// Extraction runs synchronously in the worker: a quadratic pattern would block every delivery of the
// process (a 100 KB word once took 17 s, a 512 KB one minutes). These inputs are the shapes that made
// regexes backtrack; each must finish at the default input cap in a small fraction of this bound (about
// 0.1 s each on a 2-core machine), so the bound only fails on super-linear behaviour, not on a slow machine.
const BOUND_MS = 5_000;
const { extract: limits, parse: parseLimits } = loadConfig({});
const N = limits.maxInputChars;

/** "authenticat\w*" is a keyword of any length; then a code and a keyword every 9 characters */
function longKeywordThenCodes(n: number): string {
  const word = `authenticat${'e'.repeat(Math.floor(n / 3) - 11)} `;
  return word + 'pin 1234 '.repeat(Math.floor((n - word.length) / 9));
}

const shapes: Record<string, string> = {
  'one long word': 'x'.repeat(N),
  'a long run of digits': '1'.repeat(N),
  'a long dotted word': 'a.'.repeat(N / 2),
  'a domain with no dot after @': `a@${'b'.repeat(N)}`,
  'plus-digit pairs': '+1'.repeat(N / 2),
  'digit-dash pairs': '1-'.repeat(N / 2),
  'upper-case alphanumerics': 'AB1'.repeat(N / 3),
  'keywords everywhere': 'code '.repeat(N / 5),
  'codes next to keywords, addresses and links, repeated': 'code 123456 x@y.z http://a.b/c '.repeat(Math.floor(N / 31)),
  'unclosed tags': '<a href='.repeat(N / 8),
  // htmlparser2's Parser keeps open elements in an array (unshift per start tag, indexOf per end tag): these
  // two took seconds there; the extraction's own walk keeps no element stack
  'deeply nested unclosed tags': '<b><a href="https://x.test/">'.repeat(N / 30),
  'end tags that close nothing after deep nesting': '<b>'.repeat(N / 6) + '</i>'.repeat(N / 8),
  'a quoted attribute never closed': `<a title="${'x>'.repeat(N / 2)}`,
  // trailing-punctuation trimming once rescanned the run from each of its characters (128 KB: 28 s)
  'a link followed by a long run of full stops': `http://a.b/${'.'.repeat(N - 12)}x`,
  // a keyword hit a third of the input long once widened every candidate's window to all hits (7 s for
  // the text and the HTML part; see the test at four times the cap below)
  'a keyword-like word a third of the input long, then codes next to keywords': longKeywordThenCodes(N),
};

for (const [name, s] of Object.entries(shapes)) {
  test(`extraction stays linear: ${name} (${s.length} chars)`, (t) => {
    const started = performance.now();
    const found = extractFromMessage({ subject: 'your verification code', text: s, html: `<p>${s}</p>` }, limits);
    const ms = performance.now() - started;
    t.true(ms < BOUND_MS, `took ${ms.toFixed(0)} ms`);
    t.true(found.codes.length <= limits.maxCodes && found.links.length <= limits.maxLinks);
  });
}

// extractCodes has no cap of its own (extractFromMessage applies EXTRACT_MAX_INPUT_CHARS, which an operator
// may raise): at four times the default cap the quadratic version took 76 s, the linear one 0.3 s
test('code scoring stays linear at four times the input cap: a keyword-like word a third of the input long, then codes next to keywords', (t) => {
  const s = longKeywordThenCodes(4 * N);
  const started = performance.now();
  const codes = extractCodes({ subject: null, text: s, html: null }, limits);
  const ms = performance.now() - started;
  t.true(ms < BOUND_MS, `took ${ms.toFixed(0)} ms`);
  t.deepEqual(
    codes.map((c) => c.code),
    ['1234'],
  );
});

test('a message whose text is one 300 KB word is parsed and stored in the ordinary way, codes still found in the subject', async (t) => {
  const raw = Buffer.from(
    `From: a@example.org\r\nSubject: Your code is 739201\r\nContent-Type: text/plain\r\n\r\n${'q'.repeat(300_000)}\r\n`,
  );
  const started = performance.now();
  const parsed = await parseRaw(raw, 10_000, limits, parseLimits);
  t.true(performance.now() - started < BOUND_MS);
  t.is(parsed.parseError, null);
  t.is(parsed.text?.trim().length, 300_000);
  t.deepEqual(
    parsed.codes.map((c) => c.code),
    ['739201'],
  );
});
