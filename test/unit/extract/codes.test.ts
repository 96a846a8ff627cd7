import test from 'ava';
import { extractCodes } from '../../../src/extract/codes.js';

const limits = { maxCodes: 5 };
const codes = (p: { subject?: string; text?: string; html?: string }) =>
  extractCodes({ subject: p.subject ?? null, text: p.text ?? null, html: p.html ?? null }, limits);

test('GitHub-style device verification (text): the code, found in the text, with its context', (t) => {
  const text = `Hey octocat!

A sign in attempt requires further verification because we did not recognize your device.
To complete the sign in, enter the verification code on the unrecognized device.

Device: Chrome on Linux
Verification code: 482913

If you did not attempt to sign in to your account, your password may be compromised.
Visit https://github.com/settings/security to create a new, strong password for your GitHub account.

Thanks,
The GitHub Team
GitHub, Inc. 88 Colin P Kelly Jr Street San Francisco, CA 94107`;
  const found = codes({ subject: '[GitHub] Please verify your device', text });
  t.is(found[0]?.code, '482913');
  t.deepEqual(found[0]?.foundIn, ['text']);
  t.regex(found[0]!.context, /Verification code: 482913/);
  t.false(
    found.some((c) => c.code === '94107'),
    'a postcode far from any keyword is not a code',
  );
});

test('Slack-style code split as "123-456" in a big HTML cell, digits in separate spans', (t) => {
  const html = `<html><head><style>.code{font-size:40px} td{color:#1d1c1d}</style></head><body>
  <table><tr><td><h1>Confirm your email address</h1></td></tr>
  <tr><td>Your confirmation code is below — enter it in your open browser window and we'll help you get signed in.</td></tr>
  <tr><td class="code"><span>3</span><span>9</span><span>1</span>-<span>0</span><span>7</span><span>5</span></td></tr>
  <tr><td>If you didn’t request this email, there’s nothing to worry about — you can safely ignore it.</td></tr>
  <tr><td>Made by Slack Technologies, LLC · 500 Howard Street · San Francisco, CA 94105</td></tr></table></body></html>`;
  const found = codes({ subject: 'Slack confirmation code: 391-075', html });
  t.is(found[0]?.code, '391075');
  t.deepEqual([...found[0]!.foundIn].sort(), ['html', 'subject']);
});

test('Google-style "G-123456" in the subject and text', (t) => {
  const found = codes({
    subject: 'G-730142 is your Google verification code',
    text: 'Google\n\nVerify your email address\n\nTo finish setting up your account, enter this code: G-730142\n\nThis code will expire in 15 minutes.\n© 2026 Google LLC, 1600 Amphitheatre Parkway, Mountain View, CA 94043, USA',
  });
  t.is(found[0]?.code, '730142');
  t.deepEqual(found[0]?.foundIn, ['subject', 'text']);
  t.false(
    found.some((c) => c.code === '2026'),
    'a copyright year is not a code',
  );
});

test('alphanumeric code and a PIN in a plain-text notice; prices, dates and phone numbers are not codes', (t) => {
  const text =
    'Your one-time passcode is X7K9P2. It expires at 14:30 on 2026-11-23.\n' +
    'Order total: $1499.00 (order 2026-4411). Questions? Call +1 415 555 0199.\nYour card PIN 5521 was changed.';
  const found = codes({ text });
  const values = found.map((c) => c.code);
  t.deepEqual(values.slice(0, 2).sort(), ['5521', 'X7K9P2']);
  for (const not of ['1499', '2026', '4411', '0199', '1430']) t.false(values.includes(not), not);
});

test('a message with numbers but no code words yields no codes', (t) => {
  t.deepEqual(
    codes({ subject: 'Invoice 88231', text: 'Thanks for your order #77120 of 3 items, shipped 2026-11-20 to 94107.' }),
    [],
  );
});

test('tokens inside URLs are not codes; the code next to them is', (t) => {
  const text = 'Use code 660912 or click https://app.example.com/verify?code=123456&u=ABC123 to verify.';
  t.deepEqual(
    codes({ text }).map((c) => c.code),
    ['660912'],
  );
});

// Found by a README check (2026-12-02): the README says dates and prices are never codes
test('a date near "code" is not a code, in ISO or day/month form; the real code still is', (t) => {
  t.deepEqual(codes({ subject: 'Welcome', text: 'Your code expires on 2026-11-23.' }), []);
  t.deepEqual(codes({ text: 'Verification code sent 23.11.2026, valid until 11/24/26.' }), []);
  t.deepEqual(
    codes({ text: 'Your verification code is 481516. It expires on 2026-11-23.' }).map((c) => c.code),
    ['481516'],
  );
});

test('a number with a currency named before or after it is a price, not a code', (t) => {
  for (const text of [
    'Enter the code. Total: 4999 USD',
    'Your code order: EUR 1234',
    'Code: 2500 euros per seat',
    'Verification fee 1999 dollars',
  ]) {
    t.deepEqual(codes({ text }), [], text);
  }
  t.deepEqual(
    codes({ text: 'Your code is 7391. Total: 4999 USD' }).map((c) => c.code),
    ['7391'],
  );
});

// Found by an audit of streams and extraction (2026-12-02): common non-English one-time-code mails gave nothing
test('one-time codes in German, Spanish, Portuguese, Russian, Japanese, Chinese and Korean mails', (t) => {
  for (const [text, code] of [
    ['Ihr Bestätigungscode lautet: 583920', '583920'],
    ['Ihr Sicherheitscode: 583920', '583920'],
    ['Tu código de verificación es 771204', '771204'],
    ['Seu código é 440912', '440912'],
    ['Ваш код подтверждения: 306118', '306118'],
    ['認証コード：306118', '306118'],
    ['您的验证码是 306118，5分钟内有效。', '306118'],
    ['인증번호 [482913]를 입력하세요', '482913'],
  ] as const) {
    t.deepEqual(
      codes({ text }).map((c) => c.code),
      [code],
      text,
    );
  }
  t.deepEqual(codes({ text: 'Unicode 1234 and a barcode 5678 are not keywords' }), [], 'only the listed compounds');
});

test('a code-announcing subject makes the one number of the body its code; two numbers are left alone', (t) => {
  t.deepEqual(
    codes({ subject: 'Your verification code', text: '928374' }).map((c) => [c.code, c.foundIn]),
    [['928374', ['text']]],
  );
  t.deepEqual(
    codes({ subject: 'Your verification code', html: '<p>Hello,</p><p><b>928374</b></p>' }).map((c) => [
      c.code,
      c.foundIn,
    ]),
    [['928374', ['html']]],
  );
  t.deepEqual(codes({ subject: 'Your verification code', text: '928374\n\nOrder 5512, 1 Main St 94107' }), []);
  t.deepEqual(codes({ subject: 'Welcome aboard', text: '928374' }), [], 'no keyword in the subject');
});

test('the context of a code found in HTML has its entities decoded', (t) => {
  const html = '<p>Caf&eacute; &rarr; verify your account. Your verification code is <b>482913</b>.</p>';
  const found = codes({ html });
  t.is(found[0]?.code, '482913');
  t.is(found[0]?.context, 'Café → verify your account. Your verification code is 482913.');
});

test('a quoted attribute holding ">" does not leak its markup into the text codes are read from', (t) => {
  const html = '<p>Your verification code is <span title="a > b" data-ref="778899">551203</span></p>';
  t.deepEqual(
    codes({ html }).map((c) => [c.code, c.context]),
    [['551203', 'Your verification code is 551203']],
  );
});
