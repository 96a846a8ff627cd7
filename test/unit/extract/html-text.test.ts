import test from 'ava';
import { anchorsOf, htmlToText, readHtml } from '../../../src/extract/html-text.js';

test('visible text: blocks break lines, inline tags vanish, invisible elements and comments are not text', (t) => {
  const html = `<!doctype html><html><head><title>Sign in</title><style>p{color:red}</style></head>
    <body><script>var code = 111111;</script><!-- 222222 -->
    <p>Your code: <b>12</b><b>34</b></p><div>Next&nbsp;line&shy;s</div><p>&lt;b&gt; stays text</p></body></html>`;
  t.is(htmlToText(html), 'Your code: 1234\nNext lines\n<b> stays text');
});

test('a head left open ends where the body starts', (t) => {
  t.is(
    htmlToText('<html><head><meta charset="utf-8"><body><p>Your code is 730112</p></body></html>'),
    'Your code is 730112',
  );
  t.is(htmlToText('<head><style>x{}</style><p>never shown'), '', 'no body: the rest stays in the head');
});

test('entities are decoded as a browser decodes them: in text, and in attributes without eating "&name=" parameters', (t) => {
  t.is(
    htmlToText('<p>&eacute;&#233;&#xE9; &copy 2026 &amp;amp; AT&T &notanentity;</p>'),
    'ééé © 2026 &amp; AT&T ¬anentity;',
  );
  const [a] = anchorsOf('<a href="https://x.example/p?a=1&copy=2&amp;b=3&lt=4">x</a>');
  t.is(a?.href, 'https://x.example/p?a=1&copy=2&b=3&lt=4');
});

test('anchors do not nest: the next <a> ends the open one, and both are kept', (t) => {
  t.deepEqual(anchorsOf('<a href="https://x.example/1">one<a href="https://x.example/2">two</a> after</a>'), [
    { href: 'https://x.example/1', text: 'one' },
    { href: 'https://x.example/2', text: 'two' },
  ]);
});

test('only the href attribute is the link: not data-href, and the first of two href attributes', (t) => {
  t.deepEqual(
    anchorsOf('<a data-href="https://tracker.example/" HREF="https://x.example/a" href="https://x.example/b">A</a>'),
    [{ href: 'https://x.example/a', text: 'A' }],
  );
  t.deepEqual(anchorsOf('<a name="top">no link</a>'), []);
});

test('anchor text: blocks inside become spaces; an anchor never closed takes the text of 2,000 characters of HTML after its tag', (t) => {
  t.deepEqual(anchorsOf('<a href="https://x.example/">  <div>Sign</div><div>in</div> </a>'), [
    { href: 'https://x.example/', text: 'Sign in' },
  ]);
  const html = `<a href="https://x.example/open">start ${'<i>pad</i> '.repeat(190)}<p>${'far '.repeat(500)}</p>`;
  const [a] = anchorsOf(html);
  t.true(a!.text.startsWith('start pad pad'));
  t.false(a!.text.includes('far'), "text past the span is not the anchor's");
});

test('anchors inside comments, scripts and the head are not links', (t) => {
  const html =
    '<head><link href="https://x.example/css"><a href="https://x.example/head">h</a></head><body><!-- <a href="https://x.example/c">c</a> --><script>"<a href=\'https://x.example/s\'>s</a>"</script><a href="https://x.example/ok">ok</a></body>';
  t.deepEqual(
    anchorsOf(html).map((a) => a.href),
    ['https://x.example/ok'],
  );
});

test('readHtml (one walk) gives exactly htmlToText and anchorsOf (two walks), on pages and on random tag soup', (t) => {
  const pages = [
    '<p>Your code: <b>1234</b></p><a href="https://x.example/a">A <div>b</div></a><a href="https://x.example/b">unclosed',
    '<head><title>t</title><style>a{}</style></head><body><table><tr><td><a href=x>1</a>2</td></tr></table>',
    `<a href="https://x.example/long">${'word '.repeat(1_000)}</a><script>var a = "<a href=y>";</script>`,
  ];
  let seed = 3;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const bits = [
    '<a href="https://x.example/',
    '">',
    '</a>',
    '<p>',
    '</div>',
    '<br>',
    '&amp;',
    ' text ',
    '123456',
    '<!--',
    '-->',
    '<script>',
    '</script>',
    '<a>',
    '<head>',
    '<body>',
  ];
  for (let i = 0; i < 300; i++)
    pages.push(Array.from({ length: 40 }, () => bits[Math.floor(r() * bits.length)]).join(''));
  for (const html of pages)
    t.deepEqual(readHtml(html), { text: htmlToText(html), anchors: anchorsOf(html) }, html.slice(0, 200));
});
