import anyTest, { type TestFn } from 'ava';
import type { Job } from 'bullmq';
import { ulid } from 'ulid';
import { createInboundProcessor } from '../../src/pipeline/processor.js';
import type { InboundJob } from '../../src/queue/payloads.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
// deliveries are driven through the processor, so the test decides when each message was received and in
// which order they commit
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const jobOf = (to: string, subject: string, receivedAt: Date): Pick<Job<InboundJob>, 'id' | 'data'> => {
  const ingressId = ulid();
  const raw = `From: s@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody\r\n`;
  return {
    id: ingressId,
    data: {
      v: 1,
      ingressId,
      source: 'smtp',
      receivedAt: receivedAt.toISOString(),
      envelope: { from: 's@example.org', to: [to] },
      rawBase64: Buffer.from(raw).toString('base64'),
    },
  };
};

/** Three messages received a, b, c (a second apart) that commit in the order c, a, b (c's delivery was quicker, say). */
async function receivedOutOfCommitOrder(sys: System) {
  const run = createInboundProcessor(sys.deps);
  const box = await sys.createMailbox();
  const t0 = Date.now() - 10_000;
  const [a, b, c] = ['a', 'b', 'c'].map((s, i) => jobOf(box.address, `${s}-${box.address}`, new Date(t0 + i * 1000)));
  for (const job of [c!, a!, b!]) await run(job);
  return { box, subjects: (s: string) => `${s}-${box.address}` };
}

test('the list is newest received first, even when messages committed in another order; pages follow the same order', async (t) => {
  const { sys } = t.context;
  const { box, subjects } = await receivedOutOfCommitOrder(sys);
  const all = await sys.json(`/api/v1/mailboxes/${box.address}/messages`, { token: box.token });
  t.deepEqual(
    all.body.map((m: { subject: string }) => m.subject),
    ['c', 'b', 'a'].map(subjects),
  );
  const received = all.body.map((m: { received_at: string }) => Date.parse(m.received_at));
  t.deepEqual(
    [...received].sort((x, y) => y - x),
    received,
    'received_at descends',
  );

  const seen: string[] = [];
  let url: string | undefined = `/api/v1/mailboxes/${box.address}/messages?limit=1`;
  for (let pages = 0; url && pages < 5; pages++) {
    const page: { status: number; headers: Headers; body: Array<{ subject: string }> } = await sys.json(url, {
      token: box.token,
    });
    t.is(page.status, 200);
    seen.push(...page.body.map((m) => m.subject));
    const next: string | null = page.headers.get('x-next-cursor');
    t.is(next !== null, page.body.length === 1, 'a full page has a next cursor, the last (empty) one none');
    url = next ? `/api/v1/mailboxes/${box.address}/messages?limit=1&cursor=${next}` : undefined;
  }
  t.deepEqual(seen, ['c', 'b', 'a'].map(subjects), 'paging by one visits each message once, in the same order');
});

test('wait mode lists matches in the same order; its X-Cursor is the highest commit position among them', async (t) => {
  const { sys } = t.context;
  const { box, subjects } = await receivedOutOfCommitOrder(sys);
  const r = await sys.json(
    `/api/v1/mailboxes/${box.address}/messages?wait=1&subject=${encodeURIComponent(box.address)}`,
    { token: box.token },
  );
  t.deepEqual(
    r.body.map((m: { subject: string }) => m.subject),
    ['c', 'b', 'a'].map(subjects),
  );
  // commits were c (1), a (2), b (3): waiting "since" the X-Cursor waits for what commits next
  t.is(r.headers.get('x-cursor'), '3');
});

test('a cursor in another form is 400 invalid_cursor', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox();
  for (const cursor of ['12', 'abc', '1.2.3', '.5', '1733000000000.']) {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?cursor=${encodeURIComponent(cursor)}`, {
      token: box.token,
    });
    t.is(r.status, 400, cursor);
    t.is(r.body.error.code, 'invalid_cursor', cursor);
  }
});
