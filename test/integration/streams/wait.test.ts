import anyTest, { type TestFn } from 'ava';
import { startSystem, type System } from '../../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { WAIT_MAX_SECONDS: '30' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const SUMMARY_KEYS = ['from_address', 'has_attachments', 'id', 'is_read', 'received_at', 'subject', 'tag'];

test('wait returns at once when a matching message already exists, with the list contract', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  await sys.send({ to: box.address, subject: 'Your code is 123456', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const started = Date.now();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=code`, { token: box.token });
  t.true(Date.now() - started < 5_000);
  t.is(r.status, 200);
  t.is(r.body.length, 1);
  t.deepEqual(Object.keys(r.body[0]).sort(), SUMMARY_KEYS);
  t.is(r.headers.get('x-cursor'), '1');
});

test('wait ignores non-matching mail and returns early on the first match', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const started = Date.now();
  let settled = false;
  const waiting = sys
    .json(`/api/v1/mailboxes/${box.address}/messages?wait=25&from=${encodeURIComponent('/^alerts@.*\\.example$/')}`, {
      token: box.token,
    })
    .finally(() => {
      settled = true;
    });
  await sys.send({ from: 'news@shop.example', to: box.address, subject: 'not this one', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  t.false(settled, 'a non-matching message must not end the wait');
  await sys.send({ from: 'alerts@bank.example', to: box.address, subject: 'this one', text: 'x' });
  const r = await waiting;
  t.is(r.status, 200);
  t.deepEqual(
    r.body.map((m: any) => m.subject),
    ['this one'],
  );
  t.true(Date.now() - started < 20_000);
});

test('wait times out with an empty array', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  await sys.send({ to: box.address, subject: 'something else', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const started = Date.now();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=1&subject=never`, { token: box.token });
  const took = Date.now() - started;
  t.is(r.status, 200);
  t.deepEqual(r.body, []);
  t.true(took >= 950 && took < 5_000, `took ${took} ms`);
});

test('since and unread filters: only messages after the cursor, only unread ones', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  for (const n of [1, 2, 3]) await sys.send({ to: box.address, subject: `n${n}`, text: 'x' });
  const list = await sys.waitForMessages(box.address, box.token, 3);
  const after1 = await sys.json(`/api/v1/mailboxes/${box.address}/messages?since=1`, { token: box.token });
  t.deepEqual(
    after1.body.map((m: any) => m.subject),
    ['n3', 'n2'],
  );
  const n3 = list.find((m: any) => m.subject === 'n3');
  await sys.json(`/api/v1/mailboxes/${box.address}/messages/${n3.id}`, { token: box.token }); // marks it read
  const unread = await sys.json(`/api/v1/mailboxes/${box.address}/messages?since=1&unread=true&wait=1`, {
    token: box.token,
  });
  t.deepEqual(
    unread.body.map((m: any) => m.subject),
    ['n2'],
  );
  const fromSub = await sys.json(`/api/v1/mailboxes/${box.address}/messages?from=SENDER@example`, { token: box.token });
  t.is(fromSub.body.length, 3);
  const literal = await sys.json(`/api/v1/mailboxes/${box.address}/messages?subject=${encodeURIComponent('n%')}`, {
    token: box.token,
  });
  t.deepEqual(literal.body, []); // % is literal, not a wildcard
});

test('bad wait parameters are 400 with an error code', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const cases: Array<[string, string]> = [
    ['wait=31', 'invalid_wait'],
    ['wait=-1', 'invalid_wait'],
    ['wait=1&since=x', 'invalid_cursor'],
    [`from=${encodeURIComponent('/(unclosed/')}`, 'invalid_from'],
    [`subject=${'a'.repeat(201)}`, 'invalid_subject'],
    ['wait=1&bogus=1', 'unknown_parameter'],
    ['wait=1&unread=maybe', 'invalid_unread'],
  ];
  for (const [q, code] of cases) {
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?${q}`, { token: box.token });
    t.is(r.status, 400, q);
    t.is(r.body.error.code, code, q);
  }
  const other = await sys.createMailbox('?ttl_minutes=30');
  t.is((await sys.json(`/api/v1/mailboxes/${other.address}/messages?wait=1`, { token: box.token })).status, 404);
  t.is((await sys.json(`/api/v1/mailboxes/${other.address}/messages?wait=1`)).status, 404);
});

test('a regular expression too expensive for Postgres is cut off: 400 regex_too_expensive, and the query is cancelled', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  // back-references make Postgres's matcher search: about 19 s on this 402-character subject
  const subject = `${'a'.repeat(401)}b`;
  await sys.send({ to: box.address, subject, text: 'x' });
  t.is((await sys.waitForMessages(box.address, box.token, 1))[0].subject, subject);
  const re = '/^(a*)(a*)(a*)\\1\\2\\3b$/';
  const started = Date.now();
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=20&subject=${encodeURIComponent(re)}`, {
    token: box.token,
  });
  const took = Date.now() - started;
  t.is(r.status, 400);
  t.is(r.body.error.code, 'regex_too_expensive');
  t.true(took < 5_000, `took ${took} ms (WAIT_REGEX_TIMEOUT_MS is ${sys.config.wait.regexTimeoutMs})`);
  // cancelled in Postgres, not only abandoned by the client
  const running = async () =>
    (
      await sys.deps.db.raw(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid() and query like '%~*%'`,
      )
    ).rows[0].n as number;
  const deadline = Date.now() + 5_000;
  while ((await running()) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  t.is(await running(), 0);
});

test('a /regex/ filter with \\b matches as in JavaScript (Postgres writes a word boundary \\y)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=600');
  await sys.send({ from: 'a@example.org', to: box.address, subject: 'Your code is 123456', text: 'x' });
  await sys.waitForMessages(box.address, box.token, 1);
  const q = (re: string) =>
    sys.json(`/api/v1/mailboxes/${box.address}/messages?wait=2&subject=${encodeURIComponent(re)}`, {
      token: box.token,
    });
  const started = Date.now();
  const hit = await q('/\\bcode\\b/');
  t.is(hit.status, 200);
  t.is(hit.body.length, 1);
  t.true(Date.now() - started < 1_500, 'found at once, not at the deadline');
  t.is((await q('/\\Bode\\b/')).body.length, 1, '\\B: inside a word');
  t.is((await q('/\\bode/')).body.length, 0, 'no word starts with "ode"');
});

test.serial('a waiting request whose client goes away releases its hub listener', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const hub = sys.web!.streams.hub;
  const before = hub.size();
  const abort = new AbortController();
  const waiting = sys
    .api(`/api/v1/mailboxes/${box.address}/messages?wait=25`, { token: box.token, signal: abort.signal })
    .catch((e: Error) => e);
  const deadline = Date.now() + 5_000;
  while (hub.size() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(hub.size() > before);
  abort.abort();
  t.true((await waiting) instanceof Error);
  while (hub.size() > before && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 10));
  t.is(hub.size(), before);
});
