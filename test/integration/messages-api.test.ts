import anyTest, { type TestFn } from 'ava';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const SUMMARY_KEYS = ['from_address', 'has_attachments', 'id', 'is_read', 'received_at', 'subject', 'tag'];

test('plain text: listed as metadata only; full message marks it read', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  await sys.send({
    from: '"Ann Sender" <ann@example.org>',
    to: box.address,
    cc: 'copy@example.org',
    subject: 'Plain',
    text: 'Just text.\nSecond line.',
  });
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  t.deepEqual(Object.keys(item).sort(), SUMMARY_KEYS);
  t.is(item.from_address, 'ann@example.org');
  t.is(item.subject, 'Plain');
  t.false(item.is_read);
  t.false(item.has_attachments);
  t.regex(item.received_at, /\+00:00$/);

  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token });
  t.is(full.status, 200);
  t.is(full.body.text, 'Just text.\nSecond line.\n');
  t.is(full.body.html, null);
  t.is(full.body.from_name, 'Ann Sender');
  t.deepEqual(full.body.to, [{ address: box.address, name: null }], 'no display name: null, as from_name');
  t.deepEqual(full.body.cc, [{ address: 'copy@example.org', name: null }]);
  t.true(full.body.size > 0);
  t.true(full.body.headers.some((h: { name: string; value: string }) => h.name === 'subject' && h.value === 'Plain'));
  t.true(full.body.is_read);
  const [after] = await sys.waitForMessages(box.address, box.token, 1);
  t.true(after.is_read, 'read marking persisted');
});

test('HTML, non-ASCII headers and bodies, multipart with attachments; attachment download', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const pdf = Buffer.from('%PDF-1.4\n' + 'binary\u0000\u00ff'.repeat(50), 'latin1');
  await sys.send({
    from: '"Jürgen Øster" <jurgen@example.org>',
    to: box.address,
    subject: 'Grüße aus Köln — 東京 ✓',
    text: 'Straße, café, 日本語.',
    html: '<p>Straße, <b>café</b>, 日本語.</p>',
    attachments: [
      { filename: 'rapport €.pdf', content: pdf, contentType: 'application/pdf' },
      { filename: 'notes.txt', content: 'plain notes\n' },
      { filename: 'logo.png', content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), cid: 'logo@x' },
    ],
  });
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  t.true(item.has_attachments);
  t.is(item.subject, 'Grüße aus Köln — 東京 ✓');
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.from_name, 'Jürgen Øster');
  t.is(full.text.trim(), 'Straße, café, 日本語.');
  t.is(full.html, '<p>Straße, <b>café</b>, 日本語.</p>');
  t.deepEqual(
    full.attachments.map((a: any) => a.index),
    [0, 1, 2],
    'indexes follow MIME order',
  );
  const byName = (n: string) => full.attachments.find((a: any) => a.filename === n);
  t.like(byName('rapport €.pdf'), { content_type: 'application/pdf', size: pdf.length });
  t.like(byName('notes.txt'), { content_type: 'text/plain', size: 12 });
  t.like(byName('logo.png'), { content_type: 'image/png', size: 7, content_id: '<logo@x>' });

  const res = await sys.api(
    `/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/${byName('rapport €.pdf').index}`,
    { token: box.token },
  );
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/pdf');
  t.regex(res.headers.get('content-disposition')!, /filename\*=UTF-8''rapport%20%E2%82%AC\.pdf/);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), pdf);
  const missing = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/3`, {
    token: box.token,
  });
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'attachment_not_found');
});

test('raw is byte-for-byte what the client sent (8-bit bytes, odd spacing, dot-stuffed lines)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const raw = Buffer.concat([
    Buffer.from(
      `From: raw@example.org\r\nTo: ${box.address}\r\nSubject:   spaced   subject \r\nX-Custom:\ttabbed\r\n folded\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`,
      'latin1',
    ),
    Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]), // "café" in latin1
    Buffer.from('.leading dot line\r\n..two dots\r\nend\r\n', 'latin1'),
  ]);
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'raw@example.org', [box.address], raw);
  t.regex(r.data, /^250 /);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/raw`, { token: box.token });
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'message/rfc822');
  t.deepEqual(Buffer.from(await res.arrayBuffer()), raw);
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.text, 'café\n.leading dot line\n..two dots\nend\n');
});

test('a real-world message from a third-party corpus (eml-format fixtures) parses and round-trips', async (t) => {
  const { sys } = t.context;
  const pkg = dirname(createRequire(import.meta.url).resolve('eml-format/package.json'));
  const raw = (await readFile(join(pkg, 'test/fixtures/sample.eml'))).toString('latin1').replace(/\r?\n/g, '\r\n');
  const box = await sys.createMailbox();
  const r = await RawSmtp.sendOnce(sys.smtpPort, 'no-reply@example.com', [box.address], raw);
  t.regex(r.data, /^250 /);
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  t.is(item.subject, 'Winter promotions');
  t.is(item.from_address, 'no-reply@example.com');
  const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${item.id}`, { token: box.token })).body;
  t.is(full.parse_error, null);
  t.regex(full.text, /^Lorem ipsum dolor sit amet/);
  t.regex(full.html, /<html/i);
  t.deepEqual(full.to, [{ address: 'foo.bar@example.com', name: 'Foo Bar' }]);
  const png = full.attachments.find((a: any) => a.filename === 'nodejs.png');
  t.truthy(png);
  t.is(png.content_type, 'image/png');
  const res = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/attachments/${png.index}`, {
    token: box.token,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  t.is(bytes.length, png.size);
  t.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  const rawBack = Buffer.from(
    await (
      await sys.api(`/api/v1/mailboxes/${box.address}/messages/${item.id}/raw`, { token: box.token })
    ).arrayBuffer(),
  );
  t.is(rawBack.toString('latin1'), raw.endsWith('\r\n') ? raw : raw + '\r\n');
});

test('newest first, limit + cursor paging, no overlap; bad cursor and limit are 400', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (let i = 1; i <= 5; i++) await sys.send({ to: box.address, subject: `n${i}`, text: String(i) });
  await sys.waitForMessages(box.address, box.token, 5);
  const p1 = await sys.json(`/api/v1/mailboxes/${box.address}/messages?limit=2`, { token: box.token });
  t.deepEqual(
    p1.body.map((m: any) => m.subject),
    ['n5', 'n4'],
  );
  const next = p1.headers.get('x-next-cursor');
  t.truthy(next);
  const p2 = await sys.json(`/api/v1/mailboxes/${box.address}/messages?limit=2&cursor=${next}`, { token: box.token });
  t.deepEqual(
    p2.body.map((m: any) => m.subject),
    ['n3', 'n2'],
  );
  const p3 = await sys.json(
    `/api/v1/mailboxes/${box.address}/messages?limit=2&cursor=${p2.headers.get('x-next-cursor')}`,
    { token: box.token },
  );
  t.deepEqual(
    p3.body.map((m: any) => m.subject),
    ['n1'],
  );
  t.is(p3.headers.get('x-next-cursor'), null);
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages?cursor=abc`, { token: box.token })).status, 400);
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages?limit=0`, { token: box.token })).status, 400);
  t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages?limit=100000`, { token: box.token })).status, 400);
});

test('one message to two mailboxes appears in both; delete removes one copy and frees quota', async (t) => {
  const { sys } = t.context;
  const a = await sys.createMailbox();
  const b = await sys.createMailbox();
  await sys.send({ to: [a.address, b.address], subject: 'both', text: 'x' });
  const [ma] = await sys.waitForMessages(a.address, a.token, 1);
  const [mb] = await sys.waitForMessages(b.address, b.token, 1);
  t.is(ma.subject, 'both');
  t.is(mb.subject, 'both');
  t.not(ma.id, mb.id);
  const cross = await sys.json(`/api/v1/mailboxes/${a.address}/messages/${mb.id}`, { token: a.token });
  t.is(cross.status, 404, "b's message is not reachable through a");
  const del = await sys.api(`/api/v1/mailboxes/${a.address}/messages/${ma.id}`, { method: 'DELETE', token: a.token });
  t.is(del.status, 204);
  t.is((await sys.json(`/api/v1/mailboxes/${a.address}/messages/${ma.id}`, { token: a.token })).status, 404);
  const boxA = (await sys.json(`/api/v1/mailboxes/${a.address}`, { token: a.token })).body;
  t.is(boxA.message_count, 0);
  t.is(boxA.used_bytes, 0);
  t.is((await sys.json(`/api/v1/mailboxes/${b.address}/messages`, { token: b.token })).body.length, 1);
});

test('HEAD of a message does not mark it read; GET does', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  await sys.send({ to: box.address, subject: 'head', text: 'x' });
  const [item] = await sys.waitForMessages(box.address, box.token, 1);
  const path = `/api/v1/mailboxes/${box.address}/messages/${item.id}`;

  const head = await sys.api(path, { method: 'HEAD', token: box.token });
  t.is(head.status, 200);
  t.regex(head.headers.get('content-type')!, /^application\/json/);
  const [afterHead] = (await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body;
  t.false(afterHead.is_read, 'HEAD left it unread');

  t.true((await sys.json(path, { token: box.token })).body.is_read);
  const [afterGet] = (await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token })).body;
  t.true(afterGet.is_read, 'GET marked it read');
});

test('the Link rel="next" header keeps the request\'s filters: following it with unread=true yields only unread messages', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (let i = 1; i <= 5; i++) await sys.send({ to: box.address, subject: `n${i}`, text: String(i) });
  const all = await sys.waitForMessages(box.address, box.token, 5);
  for (const m of all.filter((x: any) => x.subject === 'n4' || x.subject === 'n2')) {
    t.is((await sys.json(`/api/v1/mailboxes/${box.address}/messages/${m.id}`, { token: box.token })).status, 200);
  }

  const p1 = await sys.json(`/api/v1/mailboxes/${box.address}/messages?unread=true&limit=2`, { token: box.token });
  t.deepEqual(
    p1.body.map((m: any) => m.subject),
    ['n5', 'n3'],
  );
  const link = /^<([^>]+)>; rel="next"$/.exec(p1.headers.get('link') ?? '')?.[1];
  t.truthy(link, p1.headers.get('link') ?? 'no Link header');
  const next = new URL(link!, sys.baseUrl);
  t.deepEqual([...next.searchParams].sort(), [
    ['cursor', p1.headers.get('x-next-cursor')!],
    ['limit', '2'],
    ['unread', 'true'],
  ]);

  const p2 = await sys.json(next.pathname + next.search, { token: box.token });
  t.is(p2.status, 200);
  t.deepEqual(
    p2.body.map((m: any) => m.subject),
    ['n1'],
  );
  t.true(
    p2.body.every((m: any) => !m.is_read),
    'only unread messages',
  );
  t.is(p2.headers.get('link'), null, 'last page');

  // a page without filters links with its limit and the cursor only
  const plain = await sys.json(`/api/v1/mailboxes/${box.address}/messages?limit=4`, { token: box.token });
  const plainLink = new URL(/^<([^>]+)>/.exec(plain.headers.get('link')!)![1]!, sys.baseUrl);
  t.deepEqual([...plainLink.searchParams].sort(), [
    ['cursor', plain.headers.get('x-next-cursor')!],
    ['limit', '4'],
  ]);
});
