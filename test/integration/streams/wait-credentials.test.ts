import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { startSystem, type System } from '../../helpers/system.js';
import { createUserWithKey } from '../../helpers/users.js';

const test = anyTest as TestFn<{ sys: System }>;
// one "TTL minute" is a second here, so a token can expire during a wait
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { WAIT_MAX_SECONDS: '30', TTL_UNIT_MS: '1000' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A read-only agent token for the mailbox, minted with the creator token. */
async function readToken(sys: System, box: { address: string; token: string }, ttlMinutes?: number) {
  const r = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ permissions: ['read'], ...(ttlMinutes ? { ttl_minutes: ttlMinutes } : {}) }),
  });
  if (r.status !== 201) throw new Error(`mint: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { token: string; jti: string };
}

const waitFor = (sys: System, address: string, token: string, seconds: number) =>
  sys.json(`/api/v1/mailboxes/${address}/messages?wait=${seconds}&subject=secret`, { token });

/**
 * Start a wait with `credential`, revoke it with `revoke` once the wait listens, then deliver a matching message:
 * the wait must end with 401 `message`, not return that mail.
 */
async function revokedDuringWait(
  t: ExecutionContext<{ sys: System }>,
  box: { address: string },
  credential: string,
  revoke: () => Promise<Response>,
  message: string,
) {
  const { sys } = t.context;
  const waiting = waitFor(sys, box.address, credential, 20);
  await sleep(500); // the wait is listening
  t.is((await revoke()).status, 204);
  await sys.send({ to: box.address, subject: 'secret after revocation', text: 'x' });
  const r = await waiting;
  t.is(r.status, 401, JSON.stringify(r.body));
  t.is(r.body.error.message, message);
}

test('a wait ends with 401 when its mailbox token is revoked, and returns no mail that arrives afterwards', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const agent = await readToken(sys, box);
  await revokedDuringWait(
    t,
    box,
    agent.token,
    () => sys.api(`/api/v1/mailboxes/${box.address}/tokens/${agent.jti}`, { method: 'DELETE', token: box.token }),
    'token has been revoked',
  );
});

test('a wait ends with 401 when its API key is revoked', async (t) => {
  const { sys } = t.context;
  const owner = await createUserWithKey(sys.deps.stores, 'pro');
  const second = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: owner.key,
    headers: { 'content-type': 'application/json' },
    body: '{"name":"agent"}',
  });
  t.is(second.status, 201);
  const box = await sys.createMailbox('?ttl_minutes=60', owner.key);
  await revokedDuringWait(
    t,
    box,
    second.body.key,
    () => sys.api(`/api/v1/keys/${second.body.id}`, { method: 'DELETE', token: owner.key }),
    'invalid or revoked API key',
  );
});

test('a wait ends with 401 when its mailbox token expires, before mail that arrives later', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const agent = await readToken(sys, box, 2); // expires in 2 s
  const started = Date.now();
  const waiting = waitFor(sys, box.address, agent.token, 8);
  await sleep(3_000);
  await sys.send({ to: box.address, subject: 'secret after expiry', text: 'x' });
  const r = await waiting;
  t.is(r.status, 401, JSON.stringify(r.body));
  t.is(r.body.error.message, 'token has expired');
  t.true(Date.now() - started < 6_000, 'ended at the expiry, not at the wait deadline');
});

test('a wait with a long-lived token is not cut short (its expiry lies beyond the wait)', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const agent = await readToken(sys, box, 50);
  const waiting = waitFor(sys, box.address, agent.token, 10);
  await sleep(500);
  await sys.send({ to: box.address, subject: 'secret for the agent', text: 'x' });
  const r = await waiting;
  t.is(r.status, 200);
  t.deepEqual(
    r.body.map((m: { subject: string }) => m.subject),
    ['secret for the agent'],
  );
});

test('a creator token expires with its mailbox: the wait ends with 410 mailbox_expired, not 401', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=2'); // mailbox and creator token expire in 2 s
  const started = Date.now();
  const r = await waitFor(sys, box.address, box.token, 8);
  t.is(r.status, 410, JSON.stringify(r.body));
  t.is(r.body.error.code, 'mailbox_expired');
  t.true(Date.now() - started < 6_000, 'ended at the expiry');
});
