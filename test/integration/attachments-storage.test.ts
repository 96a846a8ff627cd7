import anyTest, { type TestFn } from 'ava';
import { down, up } from '../../migrations/20261202100000_attachments_snake_case_keys.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const withAttachments = async (sys: System) => {
  const box = await sys.createMailbox();
  await sys.send({
    to: box.address,
    subject: 'files',
    text: 'see attached',
    attachments: [
      { filename: 'a.txt', content: 'first', contentType: 'text/plain' },
      { filename: 'logo.png', content: Buffer.from('89504e47', 'hex'), contentType: 'image/png', cid: 'logo@x' },
    ],
  });
  const [summary] = await sys.waitForMessages(box.address, box.token, 1);
  return { box, id: summary.id as string };
};

const stored = async (sys: System, id: string) =>
  (await sys.deps.db('messages').where({ id }).first('attachments')).attachments as Array<Record<string, unknown>>;

test.serial(
  "attachments metadata is stored under the data model's names: filename, content_type, size, content_id",
  async (t) => {
    const { sys } = t.context;
    const { box, id } = await withAttachments(sys);
    const rows = await stored(sys, id);
    t.deepEqual(
      rows.map((a) => Object.keys(a).sort()),
      Array(2).fill(['checksum', 'content_id', 'content_type', 'disposition', 'filename', 'index', 'size']),
    );
    t.like(rows[1], { index: 1, filename: 'logo.png', content_type: 'image/png', content_id: '<logo@x>', size: 4 });
    const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${id}`, { token: box.token })).body;
    t.like(full.attachments[1], { filename: 'logo.png', content_type: 'image/png', content_id: '<logo@x>', size: 4 });
  },
);

test.serial(
  'the migration renames the camelCase keys of rows written before it, in order, and back on rollback',
  async (t) => {
    const { sys } = t.context;
    const { box, id } = await withAttachments(sys);
    const before = await stored(sys, id);
    const legacy = before.map(({ content_type, content_id, ...rest }) => ({
      ...rest,
      contentType: content_type,
      contentId: content_id,
    }));
    await sys.deps
      .db('messages')
      .where({ id })
      .update({ attachments: JSON.stringify(legacy) });
    await up(sys.deps.db);
    t.deepEqual(await stored(sys, id), before);
    const full = (await sys.json(`/api/v1/mailboxes/${box.address}/messages/${id}`, { token: box.token })).body;
    t.deepEqual(
      full.attachments.map((a: { content_type: string }) => a.content_type),
      ['text/plain', 'image/png'],
    );
    await down(sys.deps.db);
    t.deepEqual(await stored(sys, id), legacy);
    await up(sys.deps.db);
    t.deepEqual(await stored(sys, id), before, "up again: the data model's names");
  },
);
