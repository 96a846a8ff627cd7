import anyTest, { type TestFn } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { countingProxy } from '../helpers/counting-proxy.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { call } from '../helpers/tenants.js';

const PASSWORD = 'alice-Attach-pw-81c4';
const BOX = 'files@example.org';
const base = `/api/v1/mailboxes/${BOX}`;
const PDF = randomBytes(50_001);
const PNG = randomBytes(2_345);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (b: Buffer) => b.toString('base64').replace(/.{76}/g, '$&\r\n');

/** mixed { related { alternative { plain, html }, inline image }, PDF with an RFC 2231 name, a 2047-named note }. */
const NESTED = [
  'From: dana@example.net',
  'To: files@example.org',
  'Subject: nested',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="mix"',
  '',
  '--mix',
  'Content-Type: multipart/related; boundary="rel"',
  '',
  '--rel',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'see the picture',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p><img src="cid:logo@x"></p>',
  '--alt--',
  '--rel',
  'Content-Type: image/png',
  'Content-ID: <logo@x>',
  'Content-Disposition: inline',
  'Content-Transfer-Encoding: base64',
  '',
  b64(PNG),
  '--rel--',
  '--mix',
  'Content-Type: application/pdf',
  "Content-Disposition: attachment; filename*0*=UTF-8''r%C3%A9sum%C3%A9%20;",
  ' filename*1*=%E2%82%AC.pdf',
  'Content-Transfer-Encoding: base64',
  '',
  b64(PDF),
  '--mix',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Disposition: attachment; filename="=?UTF-8?Q?caf=C3=A9.txt?="',
  '',
  'a note',
  '--mix--',
  '',
].join('\r\n');

const BIG = randomBytes(24 * 1024 * 1024);
const WITH_BIG = [
  'Subject: big',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  '',
  'big one attached',
  '--b',
  'Content-Type: application/octet-stream',
  'Content-Disposition: attachment; filename="big.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  b64(BIG),
  '--b--',
  '',
].join('\r\n');

const test = anyTest as TestFn<
  ConnectedFixture<Awaited<ReturnType<typeof countingProxy>>> & { id: string; bigId: string }
>;

test.before(async (t) => {
  const fx = await connectedFixture({
    users: [{ user: 'alice', password: PASSWORD }],
    seed: async (dv) => {
      await dv.append('alice', 'INBOX', NESTED);
      await dv.append('alice', 'INBOX', WITH_BIG);
    },
    proxy: countingProxy,
  });
  t.context = { ...fx, id: '', bigId: '' };
  await fx.connect(BOX, 'alice');
  const list = await call(fx.sys, 'GET', `${base}/messages`, { token: fx.owner.apiKey });
  t.context.id = list.body[1].id;
  t.context.bigId = list.body[0].id;
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

const get = (t: { context: Pick<ConnectedFixture, 'sys' | 'owner'> }, path: string) =>
  call(t.context.sys, 'GET', path, { token: t.context.owner.apiKey });

test.serial('a message lists its attachments in MIME order, names decoded, decoded sizes', async (t) => {
  const r = await get(t, `${base}/messages/${t.context.id}?peek=true`);
  t.is(r.status, 200, r.text);
  // this Dovecot answers BINARY.SIZE of a part nested two deep with an overflowed value: the estimate stands in
  const png = r.body.attachments[0];
  t.true(Math.abs(png.size - PNG.length) <= PNG.length / 100, String(png.size));
  t.deepEqual(r.body.attachments, [
    {
      index: 0,
      filename: null,
      content_type: 'image/png',
      size: png.size,
      content_id: '<logo@x>',
      disposition: 'inline',
    },
    {
      index: 1,
      filename: 'résumé €.pdf',
      content_type: 'application/pdf',
      size: PDF.length,
      content_id: null,
      disposition: 'attachment',
    },
    {
      index: 2,
      filename: 'café.txt',
      content_type: 'text/plain',
      size: 'a note'.length,
      content_id: null,
      disposition: 'attachment',
    },
  ]);
  t.is(r.body.text, 'see the picture');
  t.true(r.body.has_attachments);
});

test.serial('an attachment streams decoded: the same bytes as the original, its type and name', async (t) => {
  for (const [n, original] of [
    [0, PNG],
    [1, PDF],
  ] as const) {
    const res = await t.context.sys.api(`${base}/messages/${t.context.id}/attachments/${n}`, {
      token: t.context.owner.apiKey,
    });
    t.is(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    t.is(sha(bytes), sha(original));
    t.is(res.headers.get('x-content-type-options'), 'nosniff');
  }
  const pdf = await get(t, `${base}/messages/${t.context.id}/attachments/1`);
  t.is(pdf.headers.get('content-type'), 'application/pdf');
  t.regex(pdf.headers.get('content-disposition') ?? '', /filename\*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC\.pdf/);
  const c = await t.context.dv.waitForLog((x) => x.logins === x.loggedOut, 5_000);
  t.is(c.logins, c.loggedOut);
});

test.serial('a bad attachment index is 404 attachment_not_found', async (t) => {
  for (const n of ['3', '99', 'x', '-1']) {
    const r = await get(t, `${base}/messages/${t.context.id}/attachments/${n}`);
    t.is(r.status, 404, n);
    t.is(r.body.error.code, 'attachment_not_found', n);
  }
  const gone = await get(t, `${base}/messages/not-an-id/attachments/0`);
  t.is(gone.status, 404);
  t.is(gone.body.error.code, 'message_not_found');
});

test.serial('a large attachment is fetched as the client reads it, never whole ahead of it', async (t) => {
  const { counts: seen } = t.context.proxy;
  const res = await t.context.sys.api(`${base}/messages/${t.context.bigId}/attachments/0`, {
    token: t.context.owner.apiKey,
  });
  t.is(res.status, 200);
  const reader = res.body!.getReader();
  const chunks: Buffer[] = [Buffer.from((await reader.read()).value)];
  const before = seen.fromServer;
  // the first bytes reach the client long before the part is fetched whole (nothing buffers it first)
  t.true(before < WITH_BIG.length / 2, `${before} bytes fetched before the first chunk reached the client`);
  await new Promise((r) => setTimeout(r, 1_500)); // the client stops reading
  // the encoded part is about 33 MB: with the reader stopped, the bridge stops fetching once the socket buffers on
  // the way (kernel loopback buffers of a few MB each) are full, far from the whole part
  const fetched = seen.fromServer - before;
  t.true(fetched < WITH_BIG.length / 2, `${fetched} of ${WITH_BIG.length} bytes fetched while the client did not read`);
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(Buffer.from(r.value));
  t.is(sha(Buffer.concat(chunks)), sha(BIG));
});

test.serial('a client gone in the middle of a download: the session still ends with LOGOUT', async (t) => {
  const { dv } = t.context;
  const before = await dv.waitForLog((x) => x.logins === x.loggedOut, 5_000);
  for (const path of [`attachments/0`, `raw`]) {
    const controller = new AbortController();
    const res = await t.context.sys.api(`${base}/messages/${t.context.bigId}/${path}`, {
      token: t.context.owner.apiKey,
      signal: controller.signal,
    });
    t.is(res.status, 200);
    const reader = res.body!.getReader();
    t.false((await reader.read()).done, 'the first bytes arrived');
    controller.abort();
  }
  const after = await dv.waitForLog((x) => x.logins === before.logins + 2 && x.loggedOut === x.logins, 10_000);
  t.is(after.loggedOut, after.logins, 'both sessions ended by LOGOUT, not by a dropped connection');
});

test.serial(
  'reading a message with a 24 MiB attachment fetches its text part only, never the attachment',
  async (t) => {
    const { counts: seen } = t.context.proxy;
    const before = seen.fromServer;
    const r = await get(t, `${base}/messages/${t.context.bigId}?peek=true`);
    t.is(r.status, 200, r.text);
    t.is(r.body.text.trim(), 'big one attached');
    t.is(r.body.attachments[0].size, BIG.length);
    await t.context.dv.waitForLog((x) => x.logins === x.loggedOut, 5_000);
    const fetched = seen.fromServer - before;
    t.true(fetched < 64 * 1024, `${fetched} bytes fetched for one message of ${WITH_BIG.length}`);
  },
);
