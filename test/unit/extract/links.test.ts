import test from 'ava';
import { extractFromMessage } from '../../../src/extract/index.js';
import { extractLinks } from '../../../src/extract/links.js';

const limits = { maxLinks: 50, maxUrlLength: 2048 };

test('magic-link email (HTML + text): every link once, HTML anchor text, entities decoded', (t) => {
  const html = `<!doctype html><html><body style="font-family:sans-serif">
  <p>Click the button below to sign in to <b>Acme</b>. This link expires in 10 minutes.</p>
  <a href="https://acme.example/auth/magic?token=eyJhbGciOi.abc&amp;redirect=%2Fdashboard" style="background:#4f46e5" class="btn"><span>Sign&nbsp;in to Acme</span></a>
  <p>Or copy this URL: <a href='https://acme.example/auth/magic?token=eyJhbGciOi.abc&amp;redirect=%2Fdashboard'>https://acme.example/auth/magic?token=eyJhbGciOi.abc&amp;redirect=%2Fdashboard</a></p>
  <!-- <a href="https://hidden.example/">hidden</a> -->
  <p><a href="mailto:support@acme.example">Contact support</a> · <a href="https://acme.example/privacy">Privacy</a></p>
  </body></html>`;
  const text =
    'Sign in to Acme: https://acme.example/auth/magic?token=eyJhbGciOi.abc&redirect=%2Fdashboard\n\nPrivacy <https://acme.example/privacy>\nUnsubscribe: https://acme.example/u/42.';
  const links = extractLinks({ text, html }, limits);
  t.deepEqual(
    links.map((l) => [l.url, l.text, l.foundIn]),
    [
      [
        'https://acme.example/auth/magic?token=eyJhbGciOi.abc&redirect=%2Fdashboard',
        'Sign in to Acme',
        ['html', 'text'],
      ],
      ['https://acme.example/privacy', 'Privacy', ['html', 'text']],
      ['https://acme.example/u/42', 'Unsubscribe', ['text']],
    ],
  );
});

test('text-only links: markdown labels, trailing punctuation, non-http schemes ignored, limit applied', (t) => {
  const text =
    'Reset your password [here](https://example.com/reset/abc). See https://example.com/help, or ftp://x.example/file.\n' +
    Array.from({ length: 10 }, (_, i) => `https://example.com/p/${i}`).join('\n');
  const links = extractLinks({ text, html: null }, { maxLinks: 4, maxUrlLength: 2048 });
  t.deepEqual(
    links.map((l) => l.url),
    ['https://example.com/reset/abc', 'https://example.com/help', 'https://example.com/p/0', 'https://example.com/p/1'],
  );
  t.is(links[0]!.text, 'here');
});

test('extractFromMessage: a GitHub-style HTML verification mail gives the code and the links', (t) => {
  const html = `<table><tr><td><p>Hey <strong>octocat</strong>!</p>
    <p>Here is your GitHub launch code: <strong style="font-size:24px">73029104</strong></p>
    <p>Continue signing up at <a href="https://github.com/account_verifications/confirm/4711">github.com</a></p>
    <p><a href="https://github.com/settings/security">Review your security settings</a></p></td></tr></table>`;
  const r = extractFromMessage(
    { subject: '🚀 Your GitHub launch code', text: null, html },
    { maxCodes: 5, maxLinks: 50, maxUrlLength: 2048, maxInputChars: 100_000 },
  );
  t.is(r.codes[0]?.code, '73029104');
  t.deepEqual(r.codes[0]?.foundIn, ['html']);
  t.deepEqual(
    r.links.map((l) => l.text),
    ['github.com', 'Review your security settings'],
  );
});

test('hostile HTML does not blow up (unclosed tags and anchors, long runs)', (t) => {
  const html = '<a href="https://x.example/1">'.repeat(20_000) + '<style>'.repeat(20_000) + '<'.repeat(50_000);
  const started = Date.now();
  const links = extractLinks({ text: null, html }, limits);
  t.is(links.length, 1);
  t.true(Date.now() - started < 2_000);
});

test('a URL keeps a balanced pair of parentheses, and still ends before a closing one it did not open', (t) => {
  const urls = (text: string) =>
    extractLinks({ text, html: null }, { maxLinks: 10, maxUrlLength: 2048 }).map((l) => l.url);
  t.deepEqual(urls('See https://en.wikipedia.org/wiki/Foo_(bar) for more'), [
    'https://en.wikipedia.org/wiki/Foo_(bar)',
  ]);
  t.deepEqual(urls('(see https://example.org/a_(b)).'), ['https://example.org/a_(b)']);
  t.deepEqual(urls('[Confirm](https://example.org/confirm?t=1)'), ['https://example.org/confirm?t=1']);
  t.deepEqual(urls('(https://example.org/x)'), ['https://example.org/x']);
});

test('anchor text has its HTML entities decoded, named ones included', (t) => {
  const html =
    '<p><a href="https://cafe.example/verify?u=1&amp;t=2">Caf&eacute; &rarr; verify</a> &middot; <a href="https://cafe.example/help">Help&nbsp;&amp;&#160;FAQ&hellip;</a></p>';
  t.deepEqual(
    extractLinks({ text: null, html }, limits).map((l) => [l.url, l.text]),
    [
      ['https://cafe.example/verify?u=1&t=2', 'Café → verify'],
      ['https://cafe.example/help', 'Help & FAQ…'],
    ],
  );
});

test('an anchor whose tag has ">" inside a quoted attribute is found, with its own text', (t) => {
  const html = `<p>Confirm: <a title="Step 1 > Step 2" data-x='a>b' href="https://app.example/confirm/7">Confirm your address</a></p>
    <p><a href="https://app.example/help">Help</a></p>`;
  t.deepEqual(
    extractLinks({ text: null, html }, limits).map((l) => [l.url, l.text]),
    [
      ['https://app.example/confirm/7', 'Confirm your address'],
      ['https://app.example/help', 'Help'],
    ],
  );
});
