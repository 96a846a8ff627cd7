import anyTest, { type TestFn } from 'ava';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import { openSse, openWs, wsUrl } from '../helpers/stream-clients.js';
import type { System } from '../helpers/system.js';
import { call, type Tenant } from '../helpers/tenants.js';
import { frameValidator, openApiValidator, validatedCall } from '../helpers/openapi-validator.js';
import { asyncApiDocument } from '../../src/api/openapi/asyncapi.js';
import { openApiDocument } from '../../src/api/openapi.js';

// New mail of a connected mailbox on the streams: the worker's IDLE watcher publishes each new UID of the INBOX,
// and the web role delivers the same SSE/WebSocket frames and ?wait= answers as for hosted mailboxes.

const PASSWORD = 'alice-Watch-pw-71c3';
const BOX = 'ops@example.org';
const base = `/api/v1/mailboxes/${BOX}`;

const test = anyTest as TestFn<ConnectedFixture & { other: Tenant; mailboxId: string }>;

const mail = (subject: string, from = 'ann@example.net') =>
  [`From: Ann <${from}>`, 'To: ops@example.org', `Subject: ${subject}`, '', `body of ${subject}`, ''].join('\r\n');

/** The watcher of the mailbox is connected (EXAMINE done): anything appended from now on is new to it. */
async function watching(sys: System, n = 1) {
  const until = Date.now() + 15_000;
  for (;;) {
    const g = await sys.deps.metrics.connectedWatchers.get();
    const connected = g.values.find((v) => v.labels.state === 'watching')?.value ?? 0;
    if (connected === n) return;
    if (Date.now() > until) throw new Error(`watchers connected: ${connected}, expected ${n}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test.before(async (t) => {
  const fx = await connectedFixture({
    users: [{ user: 'alice', password: PASSWORD }],
    roles: ['web', 'worker'],
    env: {
      IMAP_TIMEOUT_MS: '5000',
      CONNECTED_WATCH_SCAN_MS: '100',
      CONNECTED_WATCH_BACKOFF_MIN_MS: '50',
      CONNECTED_WATCH_BACKOFF_MAX_MS: '500',
    },
    tenants: 2,
  });
  t.context = { ...fx, other: fx.tenants[1]!, mailboxId: '' };
  t.context.mailboxId = await fx.connect(BOX, 'alice');
  await watching(fx.sys);
});
test.after.always(async (t) => {
  await t.context.stop?.();
});

const listItem = async (t: { context: { sys: System; owner: Tenant } }, id: string) => {
  const r = await call(t.context.sys, 'GET', `${base}/messages?limit=50`, { token: t.context.owner.apiKey });
  return r.body.find((m: { id: string }) => m.id === id);
};

test.serial(
  'APPEND → new_message on SSE: cursor <uidvalidity>.<uid>, the message exactly as the list shows it',
  async (t) => {
    const sse = await openSse(t.context.sys.baseUrl + `${base}/events`, { token: t.context.owner.apiKey });
    try {
      t.is(sse.status, 200);
      const ready = await sse.next((e) => e.event === 'ready');
      t.regex(ready.data.cursor, /^[1-9][0-9]*\.[0-9]+$/);
      const { uid, uidValidity } = await t.context.dv.append('alice', 'INBOX', mail('sse one'));
      const frame = await sse.next((e) => e.event === 'new_message');
      t.is(frame.id, `${uidValidity}.${uid}`);
      t.is(frame.data.cursor, `${uidValidity}.${uid}`);
      t.is(frame.data.message.subject, 'sse one');
      const sseFrames = frameValidator(
        asyncApiDocument({ host: 'localhost', secure: false }) as never,
        'mailboxEvents',
      );
      t.deepEqual([...sseFrames(ready.data, 'ready'), ...sseFrames(frame.data, 'new_message')], []);
      t.deepEqual(frame.data.message, await listItem(t, frame.data.message.id));
      t.deepEqual(Object.keys(frame.data.message).sort(), [
        'from_address',
        'has_attachments',
        'id',
        'is_read',
        'received_at',
        'subject',
      ]);
    } finally {
      sse.close();
    }
  },
);

test.serial('APPEND → new_message on a WebSocket', async (t) => {
  const ws = await openWs(wsUrl(t.context.sys.baseUrl, `${base}/ws`), { token: t.context.owner.apiKey });
  try {
    const ready = await ws.next((f) => f.type === 'ready');
    const { uid, uidValidity } = await t.context.dv.append('alice', 'INBOX', mail('ws one'));
    const frame = await ws.next((f) => f.type === 'new_message');
    t.is(frame.cursor, `${uidValidity}.${uid}`);
    t.not(frame.cursor, ready.cursor);
    t.is(frame.message.subject, 'ws one');
    const wsFrames = frameValidator(
      asyncApiDocument({ host: 'localhost', secure: false }) as never,
      'mailboxWebSocket',
    );
    t.deepEqual([...wsFrames(ready), ...wsFrames(frame)], []);
    t.deepEqual(frame.message, await listItem(t, frame.message.id));
  } finally {
    ws.close();
  }
});

test.serial('?wait= returns the message appended while it waits, with X-Cursor', async (t) => {
  const pending = call(t.context.sys, 'GET', `${base}/messages?wait=20&subject=waited%20for`, {
    token: t.context.owner.apiKey,
  });
  // the wait is registered (its channel subscribed) before the message arrives
  await new Promise((r) => setTimeout(r, 300));
  const { uid, uidValidity } = await t.context.dv.append('alice', 'INBOX', mail('Waited For it'));
  const r = await pending;
  t.is(r.status, 200, r.text);
  t.is(r.body.length, 1);
  t.is(r.body[0].subject, 'Waited For it');
  t.is(r.headers.get('x-cursor'), `${uidValidity}.${uid}`);
  t.deepEqual(r.body[0], await listItem(t, r.body[0].id));
  // the answer and its X-Cursor as the OpenAPI document describes them
  const checked = await validatedCall(
    t.context.sys,
    openApiValidator(openApiDocument('/')),
    '/api/v1/mailboxes/{address}/messages',
    `${base}/messages?wait=0&subject=waited&since=${uidValidity}.${uid - 1}`,
    { token: t.context.owner.apiKey },
  );
  t.deepEqual(checked.problems, []);
  t.deepEqual(checked.body, r.body);
});

test.serial('?wait= with since: only messages above the cursor; none within the time → []', async (t) => {
  const now = await call(t.context.sys, 'GET', `${base}/messages?wait=0&from=ann@example.net&limit=1`, {
    token: t.context.owner.apiKey,
  });
  const cursor = now.headers.get('x-cursor')!;
  t.truthy(cursor);
  const empty = await call(t.context.sys, 'GET', `${base}/messages?wait=1&since=${cursor}`, {
    token: t.context.owner.apiKey,
  });
  t.is(empty.status, 200);
  t.deepEqual(empty.body, []);
  const pending = call(t.context.sys, 'GET', `${base}/messages?wait=20&since=${cursor}&from=zed@example.net`, {
    token: t.context.owner.apiKey,
  });
  await new Promise((r) => setTimeout(r, 300));
  await t.context.dv.append('alice', 'INBOX', mail('not from zed'));
  const { uid } = await t.context.dv.append('alice', 'INBOX', mail('from zed', 'zed@example.net'));
  const r = await pending;
  t.is(r.status, 200, r.text);
  t.deepEqual(
    r.body.map((m: { subject: string }) => m.subject),
    ['from zed'],
  );
  t.true(r.headers.get('x-cursor')!.endsWith(`.${uid}`));
});

test.serial('?wait= refuses what does not apply to IMAP, before any connection', async (t) => {
  const before = t.context.dv.logCounts().logins;
  const get = (q: string) => call(t.context.sys, 'GET', `${base}/messages?${q}`, { token: t.context.owner.apiKey });
  const cases: [string, number, string][] = [
    ['wait=1&subject=/x+/', 400, 'regex_not_supported'],
    ['wait=1&tag=a', 400, 'tag_not_applicable'],
    ['wait=1&folder=Archive', 400, 'wait_inbox_only'],
    ['wait=1&since=12', 400, 'invalid_cursor'],
    ['wait=1&since=0.1', 400, 'invalid_cursor'],
    ['wait=x', 400, 'invalid_wait'],
    ['wait=1&nope=1', 400, 'unknown_parameter'],
  ];
  for (const [q, status, code] of cases) {
    const r = await get(q);
    t.is(r.status, status, q);
    t.is(r.body?.error?.code, code, q);
  }
  t.is(t.context.dv.logCounts().logins, before);
});

test.serial(
  'a resumed stream replays from IMAP only the UIDs above its cursor (SSE Last-Event-ID, WS ?since=)',
  async (t) => {
    const first = await t.context.dv.append('alice', 'INBOX', mail('resume 1'));
    const cursor = `${first.uidValidity}.${first.uid}`;
    const second = await t.context.dv.append('alice', 'INBOX', mail('resume 2'));
    const third = await t.context.dv.append('alice', 'INBOX', mail('resume 3'));
    const sse = await openSse(t.context.sys.baseUrl + `${base}/events`, {
      token: t.context.owner.apiKey,
      lastEventId: cursor,
    });
    try {
      const ready = await sse.next((e) => e.event === 'ready');
      t.is(ready.data.cursor, cursor);
      const a = await sse.next((e) => e.event === 'new_message');
      const b = await sse.next((e) => e.event === 'new_message');
      t.deepEqual([a.id, b.id], [`${second.uidValidity}.${second.uid}`, `${third.uidValidity}.${third.uid}`]);
      t.deepEqual([a.data.message.subject, b.data.message.subject], ['resume 2', 'resume 3']);
      // the watcher's live events of the same UIDs are not sent twice
      const fourth = await t.context.dv.append('alice', 'INBOX', mail('resume 4'));
      const c = await sse.next((e) => e.event === 'new_message');
      t.is(c.id, `${fourth.uidValidity}.${fourth.uid}`);
      t.is(sse.inbox.all.filter((e) => e.event === 'new_message').length, 3);
    } finally {
      sse.close();
    }
    const ws = await openWs(wsUrl(t.context.sys.baseUrl, `${base}/ws?since=${second.uidValidity}.${second.uid}`), {
      token: t.context.owner.apiKey,
    });
    try {
      t.is((await ws.next((f) => f.type === 'ready')).cursor, `${second.uidValidity}.${second.uid}`);
      const replayed = await ws.next((f) => f.type === 'new_message');
      t.is(replayed.message.subject, 'resume 3');
    } finally {
      ws.close();
    }
    const bad = await call(t.context.sys, 'GET', `${base}/events?since=42`, { token: t.context.owner.apiKey });
    t.is(bad.status, 400);
    t.is(bad.body.error.code, 'invalid_cursor');
  },
);

test.serial(
  'tenant isolation: another tenant gets 404 on the stream routes and ?wait= of the connected mailbox',
  async (t) => {
    const other = t.context.other.apiKey;
    const before = t.context.dv.logCounts().logins;
    const sse = await call(t.context.sys, 'GET', `${base}/events`, { token: other });
    t.is(sse.status, 404);
    t.is(sse.body.error.code, 'mailbox_not_found');
    const err = await openWs(wsUrl(t.context.sys.baseUrl, `${base}/ws`), { token: other }).then(
      () => undefined,
      (e: { status: number; body: { error: { code: string } } }) => e,
    );
    t.is(err?.status, 404);
    t.is(err?.body.error.code, 'mailbox_not_found');
    const wait = await call(t.context.sys, 'GET', `${base}/messages?wait=1`, { token: other });
    t.is(wait.status, 404);
    t.is(wait.body.error.code, 'mailbox_not_found');
    // a hosted mailbox's token reaches its own mailbox only
    const hosted = await t.context.sys.createMailbox();
    const byToken = await call(t.context.sys, 'GET', `${base}/events`, { token: hosted.token });
    t.is(byToken.status, 404);
    const noCredential = await call(t.context.sys, 'GET', `${base}/events`);
    t.is(noCredential.status, 401);
    t.is(t.context.dv.logCounts().logins, before); // no IMAP session for any of them
  },
);

test.serial('DELETE of the mailbox: the stream ends with mailbox_expired and the watcher logs out', async (t) => {
  const sse = await openSse(t.context.sys.baseUrl + `${base}/events`, { token: t.context.owner.apiKey });
  await sse.next((e) => e.event === 'ready');
  // the watcher's session is the one still open
  const open = await t.context.dv.waitForLog((c) => c.logins - c.logouts === 1);
  const del = await call(t.context.sys, 'DELETE', base, { token: t.context.owner.apiKey });
  t.is(del.status, 204);
  const frame = await sse.next((e) => e.event === 'mailbox_expired');
  t.is(frame.data.reason, 'deleted');
  await sse.inbox.ended();
  // every session, the watcher's included, ended with LOGOUT; no new one is opened
  const after = await t.context.dv.waitForLog((c) => c.logins === c.loggedOut && c.loggedOut > open.loggedOut);
  t.is(after.logins, open.logins);
  t.deepEqual(t.context.sys.worker!.watchers!.watching(), []);
  await watching(t.context.sys, 0);
  await new Promise((r) => setTimeout(r, 500)); // several scans later: still no watcher, no login
  t.is(t.context.dv.logCounts().logins, after.logins);
});
