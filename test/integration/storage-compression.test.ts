import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../helpers/system.js';

// migrations/20261202000000_lz4_message_compression.ts: large bodies and raw bytes are stored LZ4-compressed
// (this machine's PostgreSQL has lz4), and read back byte for byte.
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('a large message is stored with LZ4 compression and its raw bytes come back unchanged', async (t) => {
  const { sys } = t.context;
  const lz4 = await sys.deps.db.raw(
    `select 'lz4' = any(enumvals) as ok from pg_settings where name = 'default_toast_compression'`,
  );
  t.true(lz4.rows[0].ok, 'the test PostgreSQL supports lz4 (Debian postgresql-15 is built with it)');
  const box = await sys.createMailbox();
  const line = 'Your verification code is 482913. This line repeats to make the body large and compressible.\r\n';
  const text = line.repeat(800); // ~78 KB
  await sys.send({ to: box.address, subject: 'big', text });
  const [summary] = await sys.waitForMessages(box.address, box.token, 1);
  const row = await sys.deps
    .db('messages')
    .where({ id: summary.id })
    .first(
      sys.deps.db.raw(
        'pg_column_compression(raw) as raw_c, pg_column_compression(text_body) as text_c, octet_length(raw) as bytes, pg_column_size(raw) as stored',
      ),
    );
  t.is(row.raw_c, 'lz4');
  t.is(row.text_c, 'lz4');
  t.true(row.stored < row.bytes / 4, `stored ${row.stored} B for ${row.bytes} B`);
  const raw = Buffer.from(
    await (
      await sys.api(`/api/v1/mailboxes/${box.address}/messages/${summary.id}/raw`, { token: box.token })
    ).arrayBuffer(),
  );
  t.is(raw.length, Number(row.bytes));
  t.true(raw.toString('latin1').includes('Subject: big'));
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${summary.id}`, { token: box.token });
  t.is(full.body.text.replace(/\r\n/g, '\n'), text.replace(/\r\n/g, '\n'));
});

test('the links of a tracked HTML message are stored with LZ4 compression and read back whole', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  // 200 tracked links: ~25 KB of links JSON, compressible (migrations/20261209000000_lz4_extraction_compression.ts)
  const urls = Array.from({ length: 200 }, (_, i) => `https://app.example.com/track/${i}?utm_source=email&u=42`);
  const html = `<p>${urls.map((u, i) => `<a href="${u}">link ${i}</a>`).join('<br>')}</p>`;
  await sys.send({ to: box.address, subject: 'links', html });
  const [summary] = await sys.waitForMessages(box.address, box.token, 1);
  const row = await sys.deps
    .db('messages')
    .where({ id: summary.id })
    .first(
      sys.deps.db.raw(
        'pg_column_compression(links) as links_c, octet_length(links::text) as bytes, pg_column_size(links) as stored',
      ),
    );
  t.is(row.links_c, 'lz4');
  t.true(row.stored < row.bytes / 4, `stored ${row.stored} B for ${row.bytes} B`);
  const full = await sys.json(`/api/v1/mailboxes/${box.address}/messages/${summary.id}`, { token: box.token });
  t.deepEqual(
    (full.body.links as Array<{ url: string }>).map((l) => l.url),
    urls,
  );
});
