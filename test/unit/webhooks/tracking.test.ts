import test from 'ava';
import { signTrackingToken, trackingUrls, verifyTrackingToken } from '../../../src/core/tracking-token.js';
import { rewriteTrackedHtml } from '../../../src/extract/tracking.js';

const SECRET = 'a-tracking-secret-of-at-least-32-characters';
const ID = '0b0e5c3e-5a43-4c8f-9b62-2a4e1f6f0c11';

test('open and click tokens round-trip; URL-safe; the click token carries its destination', (t) => {
  const open = signTrackingToken(SECRET, 'open', ID);
  t.regex(open, /^[A-Za-z0-9_-]+$/);
  t.deepEqual(verifyTrackingToken(SECRET, 'open', open), { messageId: ID });
  const url = 'https://example.org/a%20b?x=1&y=%C3%BC#frag';
  const click = signTrackingToken(SECRET, 'click', ID, url);
  t.regex(click, /^[A-Za-z0-9_-]+$/);
  t.deepEqual(verifyTrackingToken(SECRET, 'click', click), { messageId: ID, url });
});

test('tampered, truncated, foreign or cross-kind tokens do not verify', (t) => {
  const click = signTrackingToken(SECRET, 'click', ID, 'https://example.org/');
  const open = signTrackingToken(SECRET, 'open', ID);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const i of [0, 10, 20, click.length - 5]) t.is(verifyTrackingToken(SECRET, 'click', flip(click, i)), undefined);
  // another destination under the same tag: the open redirect the tag prevents
  const other = Buffer.from(click, 'base64url');
  const evil = Buffer.concat([
    other.subarray(0, 16),
    Buffer.from('https://evil.example/'),
    other.subarray(other.length - 16),
  ]);
  t.is(verifyTrackingToken(SECRET, 'click', evil.toString('base64url')), undefined);
  t.is(verifyTrackingToken(SECRET, 'click', click.slice(0, -2)), undefined);
  t.is(verifyTrackingToken(`${SECRET}x`, 'click', click), undefined);
  t.is(verifyTrackingToken(SECRET, 'open', click), undefined);
  t.is(verifyTrackingToken(SECRET, 'click', open), undefined);
  t.is(verifyTrackingToken(SECRET, 'open', `${open}=`), undefined);
  t.is(verifyTrackingToken(SECRET, 'open', ''), undefined);
  t.is(verifyTrackingToken(SECRET, 'open', 'not a token'), undefined);
});

const urls = trackingUrls('https://mw.example/');
const click = (dest: string) => urls.click(`T(${dest})`);

const table: Array<[string, string, string]> = [
  [
    'http link',
    '<a href="http://example.org/x">x</a>',
    `<a href="https://mw.example/t/c/T(http://example.org/x)">x</a>`,
  ],
  [
    'https, query, fragment, percent-encoding kept',
    '<a href="https://e.org/a%2Fb?q=%C3%BC&amp;r=2#top">x</a>',
    `<a href="https://mw.example/t/c/T(https://e.org/a%2Fb?q=%C3%BC&amp;r=2#top)">x</a>`,
  ],
  [
    '&amp;amp; decoded once only',
    '<a href="https://e.org/?a=1&amp;amp;b=2">x</a>',
    `<a href="https://mw.example/t/c/T(https://e.org/?a=1&amp;amp;b=2)">x</a>`,
  ],
  [
    'single quotes',
    "<a class=c href='https://e.org/'>x</a>",
    `<a class=c href='https://mw.example/t/c/T(https://e.org/)'>x</a>`,
  ],
  ['unquoted', '<a href=https://e.org/>x</a>', `<a href="https://mw.example/t/c/T(https://e.org/)">x</a>`],
  [
    'upper-case tag and attribute',
    '<A HREF="HTTPS://E.org/">x</A>',
    `<A HREF="https://mw.example/t/c/T(HTTPS://E.org/)">x</A>`,
  ],
  ['mailto untouched', '<a href="mailto:a@b.org">m</a>', '<a href="mailto:a@b.org">m</a>'],
  ['fragment untouched', '<a href="#top">t</a>', '<a href="#top">t</a>'],
  ['relative untouched', '<a href="/path?x=1">r</a>', '<a href="/path?x=1">r</a>'],
  ['javascript untouched', '<a href="javascript:alert(1)">j</a>', '<a href="javascript:alert(1)">j</a>'],
  [
    'only the first href counts',
    '<a href="#a" href="https://e.org/">x</a>',
    '<a href="#a" href="https://e.org/">x</a>',
  ],
  [
    'img src and link href untouched',
    '<img src="https://e.org/i.png"><link href="https://e.org/s.css">',
    '<img src="https://e.org/i.png"><link href="https://e.org/s.css">',
  ],
  [
    'href in text or comment untouched',
    '<!-- <a href="https://e.org/"> --><p>href="https://e.org/"</p>',
    '<!-- <a href="https://e.org/"> --><p>href="https://e.org/"</p>',
  ],
];

for (const [name, input, output] of table)
  test(`link rewriting: ${name}`, (t) => {
    t.is(rewriteTrackedHtml(input, { clickUrl: click }), output);
  });

test('the destination handed to clickUrl is decoded once and trimmed', (t) => {
  const seen: string[] = [];
  rewriteTrackedHtml('<a href=" https://e.org/?a=1&amp;b=2&amp;amp;c ">x</a>', {
    clickUrl: (d) => {
      seen.push(d);
      return 'X';
    },
  });
  t.deepEqual(seen, ['https://e.org/?a=1&b=2&amp;c']);
});

test('the pixel goes before the last </body>, or at the end; nothing else changes', (t) => {
  const open = urls.open('TOKEN');
  const withBody = '<html><body><p>hi</p></body></html>';
  const out = rewriteTrackedHtml(withBody, { openUrl: open });
  t.true(out.startsWith('<html><body><p>hi</p><img src="https://mw.example/t/o/TOKEN"'));
  t.true(out.endsWith('</body></html>'));
  t.true(
    rewriteTrackedHtml('<p>hi</p>', { openUrl: open }).startsWith('<p>hi</p><img src="https://mw.example/t/o/TOKEN"'),
  );
  t.is(rewriteTrackedHtml(withBody, {}), withBody);
});

test('with real tokens, every rewritten link verifies back to its exact destination', (t) => {
  const dests = ['https://e.org/a?b=1&c=2#d', 'http://x.test/%7Euser/'];
  const html = dests.map((d) => `<a href="${d.replaceAll('&', '&amp;')}">l</a>`).join('');
  const out = rewriteTrackedHtml(html, { clickUrl: (d) => urls.click(signTrackingToken(SECRET, 'click', ID, d)) });
  const tokens = [...out.matchAll(/\/t\/c\/([A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
  t.deepEqual(
    tokens.map((tok) => verifyTrackingToken(SECRET, 'click', tok)?.url),
    dests,
  );
});
