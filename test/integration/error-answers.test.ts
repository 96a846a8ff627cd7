import anyTest, { type TestFn } from 'ava';
import { openSse, openWs, wsUrl } from '../helpers/stream-clients.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

interface Answer {
  status: number;
  code: string;
  message: string;
  requestId: string | undefined;
}

/** The same failing mailbox lookup, met by each edge: REST, the blocking wait, SSE and the WebSocket upgrade. */
async function answersOfEveryEdge(sys: System, address: string, token: string): Promise<Record<string, Answer>> {
  const rest = await sys.json(`/api/v1/mailboxes/${address}`, { token, headers: { 'x-request-id': 'req-rest' } });
  const wait = await sys.json(`/api/v1/mailboxes/${address}/messages?wait=1`, {
    token,
    headers: { 'x-request-id': 'req-wait' },
  });
  const sse = await fetch(`${sys.baseUrl}/api/v1/mailboxes/${address}/events`, {
    headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-sse' },
  });
  const sseBody = (await sse.json()) as { error: { code: string; message: string; request_id: string } };
  const ws = await openWs(wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws`), {
    token,
    headers: { 'x-request-id': 'req-ws' },
  }).then(
    (c) => {
      c.close();
      throw new Error('the upgrade was accepted');
    },
    (err: { status: number; body: { error: { code: string; message: string; request_id: string } } }) => err,
  );
  const of = (status: number, e: { code: string; message: string; request_id?: string }): Answer => ({
    status,
    code: e.code,
    message: e.message,
    requestId: e.request_id,
  });
  return {
    rest: of(rest.status, rest.body.error),
    wait: of(wait.status, wait.body.error),
    sse: of(sse.status, sseBody.error),
    ws: of(ws.status, ws.body.error),
  };
}

/** Run `fn` while every mailbox lookup by address fails with `err`. */
async function whileLookupsFail<T>(sys: System, err: Error, fn: () => Promise<T>): Promise<T> {
  const mailboxes = sys.deps.stores.mailboxes;
  const findByAddress = mailboxes.findByAddress.bind(mailboxes);
  mailboxes.findByAddress = async () => {
    throw err;
  };
  try {
    return await fn();
  } finally {
    mailboxes.findByAddress = findByAddress;
  }
}

// an unexpected error was a 500 over REST but a 503 (service_unavailable) over SSE and WebSocket
test.serial(
  'an unexpected error is 500 internal_error on every edge: REST, wait, SSE and WebSocket agree',
  async (t) => {
    const { sys } = t.context;
    const box = await sys.createMailbox('?ttl_minutes=60');
    const answers = await whileLookupsFail(sys, new TypeError('a bug'), () =>
      answersOfEveryEdge(sys, box.address, box.token),
    );
    for (const [edge, a] of Object.entries(answers)) {
      t.deepEqual(
        { status: a.status, code: a.code, message: a.message },
        { status: 500, code: 'internal_error', message: 'internal error' },
        edge,
      );
      t.is(a.requestId, `req-${edge}`, edge);
    }
    // and the edges work again once the lookup does
    t.is((await sys.json(`/api/v1/mailboxes/${box.address}`, { token: box.token })).status, 200);
    const sse = await openSse(`${sys.baseUrl}/api/v1/mailboxes/${box.address}/events`, { token: box.token });
    t.is(sse.status, 200);
    sse.close();
  },
);

test.serial('a dependency outage is 503 service_unavailable on every edge', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const answers = await whileLookupsFail(sys, outage, () => answersOfEveryEdge(sys, box.address, box.token));
  for (const [edge, a] of Object.entries(answers)) {
    t.deepEqual(
      { status: a.status, code: a.code, message: a.message },
      { status: 503, code: 'service_unavailable', message: 'a dependency is unavailable, retry shortly' },
      edge,
    );
  }
});

test.serial('a known error reads the same on every edge (410 for a deleted mailbox, with its message)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  t.is((await sys.api(`/api/v1/mailboxes/${box.address}`, { method: 'DELETE', token: box.token })).status, 204);
  const answers = await answersOfEveryEdge(sys, box.address, box.token);
  const distinct = new Set(Object.values(answers).map((a) => `${a.status} ${a.code} ${a.message}`));
  t.is(distinct.size, 1, JSON.stringify(answers));
  t.deepEqual({ status: answers.rest!.status, code: answers.rest!.code }, { status: 410, code: 'mailbox_deleted' });
});
