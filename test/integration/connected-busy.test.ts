import anyTest, { type TestFn } from 'ava';
import { countingProxy } from '../helpers/counting-proxy.js';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { call } from '../helpers/tenants.js';

const PASSWORD = 'alice-Busy-pw-77e1';
const BOX = 'busy@example.org';
const base = `/api/v1/mailboxes/${BOX}`;

const test = anyTest as TestFn<ConnectedFixture<Awaited<ReturnType<typeof countingProxy>>>>;

test.before(async (t) => {
  t.context = await connectedFixture({
    users: [{ user: 'alice', password: PASSWORD }],
    seed: async (dv) => {
      for (let i = 0; i < 5; i++) await dv.append('alice', 'INBOX', `Subject: m${i}\r\n\r\nbody\r\n`);
    },
    proxy: countingProxy,
    env: { RATE_LIMIT_ENABLED: 'false' },
  });
  await t.context.connect(BOX, 'alice');
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

test.serial(
  '20 concurrent lists of one mailbox: never more than 2 IMAP sessions, the excess 503 imap_busy',
  async (t) => {
    const { counts } = t.context.proxy;
    counts.max = 0;
    counts.total = 0;
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(t.context.sys, 'GET', `${base}/messages`, { token: t.context.owner.apiKey }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200);
    const busy = replies.filter((r) => r.status === 503);
    t.is(ok.length + busy.length, 20, replies.map((r) => `${r.status} ${r.text}`).join('\n'));
    t.true(counts.max <= 2, `at most 2 sessions at once, saw ${counts.max}`);
    t.is(counts.max, 2);
    // 2 at once and 8 waiting get served; the others are refused without a connection
    t.true(ok.length >= 10, `${ok.length} served`);
    t.true(busy.length >= 1, `${busy.length} refused`);
    t.is(counts.total, ok.length);
    for (const r of busy) {
      t.is(r.body.error.code, 'imap_busy');
      t.regex(r.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    }
    const c = await t.context.dv.waitForLog((x) => x.logins === x.loggedOut, 5_000);
    t.is(c.logins, c.loggedOut);
    // the metrics: each refusal counted, each served session ok with its bytes and duration
    const { metrics } = t.context.sys.deps;
    t.is((await metrics.imapBusy.get()).values[0]?.value, busy.length);
    // a session is recorded when its socket has closed, just after the answer: wait for the last one
    const okSessions = async () =>
      (await metrics.imapSessions.get()).values.find((v) => v.labels.outcome === 'ok')?.value ?? 0;
    for (const until = Date.now() + 3_000; (await okSessions()) < ok.length && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 20));
    t.is(await okSessions(), ok.length);
    t.true(((await metrics.imapBytesFetched.get()).values[0]?.value ?? 0) > 0);
    const seconds = (await metrics.imapSessionSeconds.get()).values;
    t.is(seconds.find((v) => v.metricName === 'mailwright_imap_session_seconds_count')?.value, ok.length);
    // the slots were all given back: a later request is served
    const after = await call(t.context.sys, 'GET', `${base}/messages`, { token: t.context.owner.apiKey });
    t.is(after.status, 200, after.text);
  },
);
