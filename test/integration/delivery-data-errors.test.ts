import anyTest, { type TestFn } from 'ava';
import { ulid } from 'ulid';
import type { WithParsed } from '../../src/pipeline/context.js';
import { parseRaw, sendTime } from '../../src/pipeline/parse.js';
import { storeMessage } from '../../src/pipeline/steps/store-message.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const full = async (sys: System, address: string, token: string) => {
  const [summary] = await sys.waitForMessages(address, token, 1);
  return (await sys.json(`/api/v1/mailboxes/${address}/messages/${summary.id}`, { token })).body;
};

test('a Date header PostgreSQL cannot hold (year 5001 BC) is stored, sent_at null, the header kept', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const raw = `From: a@example.org\r\nTo: ${box.address}\r\nSubject: ancient\r\nDate: -005000-01-01T00:00:00Z\r\n\r\nbody\r\n`;
  await sys.send({ envelope: { from: 'a@example.org', to: [box.address] }, raw });
  const m = await full(sys, box.address, box.token);
  t.is(m.subject, 'ancient');
  t.is(m.sent_at, null);
  t.is(m.parse_error, null, 'the rest of the message parsed as usual');
  t.true(m.headers.some((h: { name: string; value: string }) => h.name === 'date' && h.value.includes('-005000')));
});

test('sendTime keeps years 1–9999 and nothing else', (t) => {
  t.is(sendTime(new Date('2026-11-23T10:00:00Z'))?.toISOString(), '2026-11-23T10:00:00.000Z');
  t.truthy(sendTime(new Date('0001-01-01T00:00:00Z')));
  t.truthy(sendTime(new Date('9999-12-31T23:59:59Z')));
  t.is(sendTime(new Date('-005000-01-01T00:00:00Z')), null);
  t.is(sendTime(new Date('+020000-01-01T00:00:00Z')), null);
  t.is(sendTime(new Date('0000-06-01T00:00:00Z')), null);
  t.is(sendTime(new Date('not a date')), null);
  t.is(sendTime(undefined), null);
});

test('a parsed value PostgreSQL refuses does not lose the message: it is stored with headers, raw bytes and a parse_error note', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  const mailbox = (await sys.deps.stores.mailboxes.findByAddress(box.address))!;
  const plan = (await sys.deps.stores.plans.get(mailbox.planId))!;
  const raw = Buffer.from(`From: a@example.org\r\nTo: ${box.address}\r\nSubject: refused\r\n\r\nbody\r\n`);
  const parsed = await parseRaw(raw, 5_000, sys.config.extract, sys.config.parse);
  // a value that passed the parser but that the column cannot hold (what an out-of-range Date was before sendTime)
  const delivery = {
    job: {
      ingressId: ulid(),
      source: 'smtp',
      receivedAt: new Date().toISOString(),
      envelope: { from: null, to: [box.address] },
      rawBase64: '',
    },
    recipient: box.address,
    raw,
    parse: async () => parsed,
    mailbox,
    plan,
    parsed: { ...parsed, sentAt: new Date('-005000-01-01T00:00:00Z') },
  } as WithParsed;
  const stored = await storeMessage(delivery, sys.deps);
  t.false(stored.duplicate);
  t.regex(stored.parsed.parseError ?? '', /^stored without parsed fields: the database refused one \(22008: /);
  const m = await full(sys, box.address, box.token);
  t.is(m.id, stored.messageId);
  t.is(m.subject, 'refused', 'the fallback keeps the headers');
  t.is(m.sent_at, null);
  t.regex(m.parse_error, /22008/);
  const rawBack = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${m.id}/raw`, { token: box.token });
  t.true(Buffer.from(await rawBack.arrayBuffer()).includes(raw), 'the raw bytes are stored');
});
