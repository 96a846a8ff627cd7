import anyTest, { type TestFn } from 'ava';
import { RawSmtp } from '../helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../helpers/system.js';

/** ADDRESS_TAG_SEPARATOR=-: box-tag@ is tagged, box+tag@ is an address of its own (no mailbox: dropped). */
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { ADDRESS_TAG_SEPARATOR: '-' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

test('the configured separator decides what a tag is; mail for an address without a mailbox is accepted and dropped', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const l = box.address.split('@')[0]!;
  const r = await RawSmtp.sendOnce(
    sys.smtpPort,
    'a@example.org',
    [`${l}+plus@${TEST_DOMAIN}`, `${l}-dash@${TEST_DOMAIN}`],
    'Subject: sep\r\n\r\nx\r\n',
  );
  t.true(
    r.rcpts.every((x: string) => x.startsWith('250')),
    'the ingress checks only the domain',
  );
  const [m] = await sys.waitForMessages(box.address, box.token, 1);
  t.is(m.tag, 'dash');
  const dropped = await sys.deps
    .db('mailboxes')
    .where({ id: (await sys.deps.stores.mailboxes.findByAddress(box.address))!.id })
    .first('message_count');
  t.is(dropped.message_count, 1, 'box+plus@ is not this mailbox');
});
