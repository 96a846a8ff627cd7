import test from 'ava';
import { loadConfig } from '../../src/core/config.js';
import { addressInFrom, fallbackParse, parseRaw, splitHeaders } from '../../src/pipeline/parse.js';

const { extract: LIMITS, parse: PARSE } = loadConfig({});

test('splitHeaders keeps order and duplicates, unfolds continuation lines', (t) => {
  t.deepEqual(
    splitHeaders('Received: a\r\n b\r\nReceived: c\r\nX-Empty:\r\nnot a header\r\nSubject: Hi: there', PARSE),
    [
      { name: 'received', value: 'a b' },
      { name: 'received', value: 'c' },
      { name: 'x-empty', value: '' },
      { name: 'subject', value: 'Hi: there' },
    ],
  );
});

test('fallbackParse keeps what the headers say and records why', (t) => {
  const p = fallbackParse(
    Buffer.from('From: "X" <X@Example.org>\r\nSubject: s\r\nMessage-ID: <m@x>\r\n\r\nbody'),
    'parse failed: boom',
    PARSE,
  );
  t.is(p.fromAddress, 'x@example.org');
  t.is(p.subject, 's');
  t.is(p.messageIdHeader, '<m@x>');
  t.is(p.parseError, 'parse failed: boom');
  t.deepEqual(p.attachments, []);
});

test('parseRaw never throws and never returns U+0000 in a field', async (t) => {
  const p = await parseRaw(
    Buffer.from('Subject: a\u0000b\r\nFrom: \u0000 <n@x.org>\r\n\r\nx\u0000y\r\n', 'latin1'),
    5_000,
    LIMITS,
    PARSE,
  );
  t.false(JSON.stringify(p).includes('\\u0000'));
  t.is(p.subject, 'a\uFFFDb');
});

test('U+0000 becomes U+FFFD in the text without touching other characters, also in a long run', async (t) => {
  const p = await parseRaw(
    Buffer.from('Subject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u0000é\u0000😀x\u0000\u0000\r\n'),
    5_000,
    LIMITS,
    PARSE,
  );
  t.is(p.text?.trim(), '\uFFFDé\uFFFD😀x\uFFFD\uFFFD');
  const long = await parseRaw(Buffer.from(`Subject: s\r\n\r\n${'\u0000'.repeat(1_000_000)}\r\n`), 5_000, LIMITS, PARSE);
  t.is(long.text?.trim(), '\uFFFD'.repeat(1_000_000));
});

test('parseRaw returns well-formed strings: a lone surrogate becomes U+FFFD (Postgres jsonb refuses one)', async (t) => {
  const lone = '=?utf-16be?B?2AA=?=';
  const raw = Buffer.from(
    [
      `From: ${lone} <a@x.org>`,
      `To: ${lone} <b@x.org>`,
      `Subject: s ${lone}`,
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'hi',
      '--b',
      "Content-Disposition: attachment; filename*=utf-16be''%D8%00%00a",
      '',
      'x',
      '--b--',
      '',
    ].join('\r\n'),
  );
  const p = await parseRaw(raw, 5_000, LIMITS, PARSE);
  t.is(p.subject, 's \uFFFD');
  t.is(p.fromName, '\uFFFD');
  t.deepEqual(p.to, [{ address: 'b@x.org', name: '\uFFFD' }]);
  t.is(p.attachments[0]?.filename, '\uFFFDa');
  t.true(JSON.stringify(p).isWellFormed());
  // a valid pair is left alone
  t.is((await parseRaw(Buffer.from('Subject: =?utf-8?B?8J+YgA==?=\r\n\r\nx\r\n'), 5_000, LIMITS, PARSE)).subject, '😀');
});

test('fallbackParse reads the From address as before: the first <...> or bare word with an @, whichever comes first', (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['"X" <X@Example.org>', 'X@Example.org'],
    ['x@y.org (Name)', 'x@y.org'],
    ['a <b> c@d', 'b'],
    ['c@d <b>', 'c@d'],
    ['<<a>', '<a'],
    ['<> x@y', 'x@y'],
    ['<>', undefined],
    ['no address', undefined],
    ['<unclosed x@y', 'x@y'],
    ['a@', undefined],
    ['@@ a@b@c', 'a@b@c'],
  ];
  for (const [value, want] of cases) t.is(addressInFrom(value), want, value);
  const p = fallbackParse(Buffer.from(`From: ${'<'.repeat(20_000)}\r\n\r\n`), 'x', PARSE);
  t.is(p.fromAddress, null);
});

// fallbackParse truncates header values to 8 KB, where the old regex cost 70 ms; the helper itself must not
// rely on that: at 256 KB the old /<([^>]+)>|([^\s<>]+@[^\s<>]+)/ took 91 s on the long word
test('the From address is found in linear time: long runs of "<", one long word, "<" and letters', (t) => {
  const n = 256 * 1024;
  for (const value of ['<'.repeat(n), 'a'.repeat(n), '<a'.repeat(n / 2), `${'a'.repeat(n)} <x@y>`]) {
    const started = performance.now();
    addressInFrom(value);
    const ms = performance.now() - started;
    t.true(ms < 5_000, `${JSON.stringify(value.slice(0, 6))}: took ${ms.toFixed(0)} ms`);
  }
  t.is(addressInFrom(`${'a'.repeat(n)} <x@y>`), 'x@y');
});

test('parseRaw reads addresses from groups and decodes encoded words', async (t) => {
  const p = await parseRaw(
    Buffer.from(
      'From: =?utf-8?Q?J=C3=BCrgen?= <j@x.org>\r\nTo: team: a@x.org, B <b@x.org>;\r\nSubject: =?utf-8?B?4pyTIGRvbmU=?=\r\n\r\nhi\r\n',
    ),
    5_000,
    LIMITS,
    PARSE,
  );
  t.is(p.fromName, 'Jürgen');
  t.deepEqual(
    p.to.map((a) => a.address),
    ['a@x.org', 'b@x.org'],
  );
  t.is(p.subject, '✓ done');
  t.is(p.parseError, null);
});

test('the PARSE_* limits are configuration, with the defaults they had as constants', (t) => {
  t.deepEqual(PARSE, {
    maxHeaderValueChars: 8_192,
    maxHeaders: 500,
    maxHeaderBlockBytes: 256 * 1024,
    maxHtmlToTextChars: 2 * 1024 * 1024,
    maxErrorNoteChars: 500,
  });
  const small = loadConfig({
    PARSE_MAX_HEADER_VALUE_CHARS: '5',
    PARSE_MAX_HEADERS: '2',
    PARSE_MAX_HEADER_BLOCK_BYTES: '2048',
    PARSE_MAX_HTML_TO_TEXT_CHARS: '100',
    PARSE_ERROR_NOTE_MAX_CHARS: '20',
  }).parse;
  t.deepEqual(small, {
    maxHeaderValueChars: 5,
    maxHeaders: 2,
    maxHeaderBlockBytes: 2048,
    maxHtmlToTextChars: 100,
    maxErrorNoteChars: 20,
  });
});

test('smaller configured parse limits take effect: header count, value length, header block, HTML-to-text size', async (t) => {
  const small = loadConfig({
    PARSE_MAX_HEADER_VALUE_CHARS: '5',
    PARSE_MAX_HEADERS: '2',
    PARSE_MAX_HEADER_BLOCK_BYTES: '2048',
    PARSE_MAX_HTML_TO_TEXT_CHARS: '100',
  }).parse;
  const head = 'Subject: a long subject\r\nX-A: 1\r\nX-B: 2\r\nContent-Type: text/html\r\n';
  const html = `<p>${'word '.repeat(40)}</p>`; // 206 characters
  const raw = Buffer.from(`${head}\r\n${html}\r\n`);

  const dflt = await parseRaw(raw, 5_000, LIMITS, PARSE);
  t.is(dflt.headers.length, 4);
  t.is(dflt.headers[0]!.value, 'a long subject');
  t.regex(dflt.text ?? '', /word word/);

  const p = await parseRaw(raw, 5_000, LIMITS, small);
  t.deepEqual(p.headers, [
    { name: 'subject', value: 'a lon' },
    { name: 'x-a', value: '1' },
  ]);
  t.is(p.text?.trim(), '', 'HTML over PARSE_MAX_HTML_TO_TEXT_CHARS is not converted');
  t.is(p.html?.trim(), html, 'the HTML itself is kept');
  t.is(p.parseError, null);

  // the header block is searched in the first PARSE_MAX_HEADER_BLOCK_BYTES only
  const late = Buffer.from(`X-Pad: ${'p'.repeat(3000)}\r\nX-Late: here\r\n\r\nbody\r\n`);
  t.deepEqual(
    fallbackParse(late, 'x', PARSE).headers.map((h) => h.name),
    ['x-pad', 'x-late'],
  );
  t.deepEqual(
    fallbackParse(late, 'x', small).headers.map((h) => h.name),
    ['x-pad'],
  );
});

test('the parse error note is cut at PARSE_ERROR_NOTE_MAX_CHARS characters (code points: a pair is never split)', async (t) => {
  const raw = Buffer.from('Subject: s\r\n\r\nbody\r\n');
  const reason = `parse failed: ${'x'.repeat(10_000)}`;
  t.is(
    fallbackParse(raw, reason, PARSE).parseError,
    reason.slice(0, 500),
    'the default keeps 500 characters, as the constant did',
  );
  const small = loadConfig({ PARSE_ERROR_NOTE_MAX_CHARS: '20' }).parse;
  t.is(fallbackParse(raw, reason, small).parseError, 'parse failed: xxxxxx');
  t.is(fallbackParse(raw, 'short', small).parseError, 'short');
  const emoji = fallbackParse(raw, `e${'😀'.repeat(100)}`, { ...small, maxErrorNoteChars: 4 }).parseError!;
  t.is(emoji, 'e😀😀😀');
  t.true(emoji.isWellFormed());
  t.throws(() => loadConfig({ PARSE_ERROR_NOTE_MAX_CHARS: '0' }), { message: /PARSE_ERROR_NOTE_MAX_CHARS/ });

  // parseRaw passes the configured limit on: a parser that gives up (here: a 1 ms time limit on a large
  // message) leaves a note no longer than the limit
  const big = Buffer.from(`Subject: s\r\nContent-Type: text/html\r\n\r\n${'<p>x</p>'.repeat(200_000)}\r\n`);
  const tiny = loadConfig({ PARSE_ERROR_NOTE_MAX_CHARS: '12' }).parse;
  const p = await parseRaw(big, 1, LIMITS, tiny);
  t.is(p.parseError, 'parse failed');
  t.is(p.subject, 's');
});

// Found by an SMTP/MIME audit (2026-12-02)
test('raw UTF-8 header values read as UTF-8 in `headers`; 8-bit bytes that are not UTF-8 stay Latin-1', async (t) => {
  const utf8 = await parseRaw(
    Buffer.from('Subject: Grüße\r\nFrom: Jörg <j@x.test>\r\n\r\nx\r\n', 'utf8'),
    5_000,
    LIMITS,
    PARSE,
  );
  t.deepEqual(utf8.headers, [
    { name: 'subject', value: 'Grüße' },
    { name: 'from', value: 'Jörg <j@x.test>' },
  ]);
  t.is(utf8.subject, 'Grüße');
  const latin1 = await parseRaw(Buffer.from('Subject: caf\xe9\r\n\r\nx\r\n', 'latin1'), 5_000, LIMITS, PARSE);
  t.deepEqual(latin1.headers, [{ name: 'subject', value: 'café' }]);
});

test('a message the parser gives up on keeps a readable subject: UTF-8 bytes and encoded words decoded', (t) => {
  const raw = Buffer.from('Subject: Grüße =?utf-8?Q?caf=C3=A9?=\r\nFrom: a@x.test\r\n\r\nbody', 'utf8');
  const p = fallbackParse(raw, 'parse failed: Max allowed child nodes exceeded', PARSE);
  t.is(p.subject, 'Grüße café');
  t.is(fallbackParse(Buffer.from('Subject: =?bogus?Q?x?= plain\r\n\r\n'), 'x', PARSE).subject, 'x plain');
});

test('sent_at is null for a Date header that cannot be read (mailparser would put the time of parsing there)', async (t) => {
  const parse = (date: string | null) =>
    parseRaw(
      Buffer.from(
        `${date === null ? '' : `Date: ${date}\r\n`}Subject: d\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n`,
      ),
      5_000,
      LIMITS,
      PARSE,
    );
  for (const bad of ['soon', '', '31 Feb 2026 25:61:00 +0000'])
    t.is((await parse(bad)).sentAt, null, JSON.stringify(bad));
  t.is((await parse(null)).sentAt, null, 'no Date header');
  t.is((await parse('Wed, 02 Dec 2026 10:30:00 +0000')).sentAt?.toISOString(), '2026-12-02T10:30:00.000Z');
});
