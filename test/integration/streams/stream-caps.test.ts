import anyTest, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { accessChannel, channelNamespace } from '../../../src/pubsub/events.js';
import type { CredentialKey } from '../../../src/stream/credential.js';
import { jtiOf } from '../../helpers/jwt.js';
import { TEST_REDIS_URL } from '../../helpers/redis.js';
import { openSse, openWs, wsUrl, type WsClient } from '../../helpers/stream-clients.js';
import { startSystem, type System } from '../../helpers/system.js';
import { createUserWithKey } from '../../helpers/users.js';

// STREAM_MAX_PER_CREDENTIAL=2: the third stream of one credential (on this process) is refused
const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ env: { STREAM_MAX_PER_CREDENTIAL: '2' } });
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const ws = (sys: System, address: string) => wsUrl(sys.baseUrl, `/api/v1/mailboxes/${address}/ws`);
const sse = (sys: System, address: string) => `${sys.baseUrl}/api/v1/mailboxes/${address}/events`;

async function refusedWs(url: string, token: string): Promise<{ status?: number; body?: any }> {
  let client: WsClient | undefined;
  try {
    client = await openWs(url, { token });
  } catch (err) {
    return err as { status?: number; body?: any };
  }
  client.close();
  throw new Error('the upgrade was accepted');
}

async function slotsFreed(sys: System, credential: CredentialKey, held: number) {
  const until = Date.now() + 5_000;
  while (sys.web!.streams.registry.heldBy(credential) !== held) {
    if (Date.now() > until)
      throw new Error(`${credential} still holds ${sys.web!.streams.registry.heldBy(credential)} slots`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectTooMany(
  t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void },
  r: { status?: number; body?: any },
  what: string,
) {
  t.is(r.status, 429, what);
  t.is(r.body?.error?.code, 'too_many_streams', what);
  t.is(typeof r.body?.error?.message, 'string', what);
  t.deepEqual(Object.keys(r.body?.error ?? {}).sort(), ['code', 'message', 'request_id'], what);
}

test('an API key at STREAM_MAX_PER_CREDENTIAL is refused with 429 too_many_streams on SSE and WS; another key is unaffected; closing one frees a slot', async (t) => {
  const { sys } = t.context;
  const { apiKey } = await createUserWithKey(sys.deps.stores);
  const box = await sys.createMailbox('?ttl_minutes=60', apiKey);
  const other = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: apiKey,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  t.is(other.status, 201);
  const keyId = (await sys.deps.stores.apiKeys.findByPrefix(apiKey.slice(0, 11)))!.id;

  const first = await openWs(ws(sys, box.address), { token: apiKey });
  const second = await openSse(sse(sys, box.address), { token: apiKey });
  await Promise.all([first.next((f) => f.type === 'ready'), second.next((e) => e.event === 'ready')]);

  const overSse = await openSse(sse(sys, box.address), { token: apiKey });
  expectTooMany(t, overSse, 'sse');
  t.regex(overSse.headers.get('content-type') ?? '', /^application\/json/);
  expectTooMany(t, await refusedWs(ws(sys, box.address), apiKey), 'ws');
  t.is(sys.web!.streams.registry.heldBy(`key:${keyId}`), 2);

  // a different credential (another key of the same user, the mailbox's own token) on the same mailbox
  const otherKey = await openWs(ws(sys, box.address), { token: other.body.key });
  const mailboxToken = await openSse(sse(sys, box.address), { token: box.token });
  await Promise.all([otherKey.next((f) => f.type === 'ready'), mailboxToken.next((e) => e.event === 'ready')]);

  // closing the SSE stream frees its slot: a WebSocket with the first key opens again
  second.close();
  await slotsFreed(sys, `key:${keyId}`, 1);
  const again = await openWs(ws(sys, box.address), { token: apiKey });
  await again.next((f) => f.type === 'ready');
  expectTooMany(t, await openSse(sse(sys, box.address), { token: apiKey }), 'sse after refill');
  // and closing a WebSocket frees one too
  first.close();
  await slotsFreed(sys, `key:${keyId}`, 1);
  const sseAgain = await openSse(sse(sys, box.address), { token: apiKey });
  t.is(sseAgain.status, 200);
  await sseAgain.next((e) => e.event === 'ready');
  for (const c of [again, otherKey]) c.close();
  for (const c of [sseAgain, mailboxToken]) c.close();
});

test('a mailbox token is capped the same way; another token of the same mailbox is unaffected', async (t) => {
  const { sys } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=60');
  const minted = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
    method: 'POST',
    token: box.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ permissions: ['read'] }),
  });
  t.is(minted.status, 201);
  const a = await openSse(sse(sys, box.address), { token: box.token });
  const b = await openSse(sse(sys, box.address), { token: box.token });
  await Promise.all([a.next((e) => e.event === 'ready'), b.next((e) => e.event === 'ready')]);
  expectTooMany(t, await openSse(sse(sys, box.address), { token: box.token }), 'sse');
  expectTooMany(t, await refusedWs(ws(sys, box.address), box.token), 'ws');
  const c = await openWs(ws(sys, box.address), { token: minted.body.token });
  await c.next((f) => f.type === 'ready');
  a.close();
  await slotsFreed(sys, `token:${jtiOf(box.token)}`, 1);
  const d = await openWs(ws(sys, box.address), { token: box.token });
  await d.next((f) => f.type === 'ready');
  for (const x of [c, d]) x.close();
  b.close();
});

test("revoking an API key closes its SSE and WS streams (api_key_revoked, WS 1008) and frees their slots; another key's stream stays open", async (t) => {
  const { sys } = t.context;
  const { apiKey } = await createUserWithKey(sys.deps.stores);
  const box = await sys.createMailbox('?ttl_minutes=60', apiKey);
  const otherBox = await sys.createMailbox('?ttl_minutes=60', apiKey);
  const created = await sys.json('/api/v1/keys', {
    method: 'POST',
    token: apiKey,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const survivorKey: string = created.body.key;
  const keyId = (await sys.deps.stores.apiKeys.findByPrefix(apiKey.slice(0, 11)))!.id;

  // what goes over Redis: the key id, never the secret
  const observer = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  t.teardown(() => observer.disconnect());
  const published: string[] = [];
  observer.on('message', (_channel: string, payload: string) => published.push(payload));
  await observer.subscribe(accessChannel(channelNamespace(sys.config.redis)));

  const revokedWs = await openWs(ws(sys, box.address), { token: apiKey });
  const revokedSse = await openSse(sse(sys, otherBox.address), { token: apiKey });
  const survivor = await openWs(ws(sys, box.address), { token: survivorKey });
  const survivorSse = await openSse(sse(sys, box.address), { token: box.token });
  await Promise.all([
    revokedWs.next((f) => f.type === 'ready'),
    revokedSse.next((e) => e.event === 'ready'),
    survivor.next((f) => f.type === 'ready'),
    survivorSse.next((e) => e.event === 'ready'),
  ]);

  const started = Date.now();
  t.is((await sys.api(`/api/v1/keys/${keyId}`, { method: 'DELETE', token: survivorKey })).status, 204);
  await revokedWs.inbox.ended(1_500);
  await revokedSse.inbox.ended(1_500);
  t.true(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
  t.is(revokedWs.closeCode, 1008);
  t.is(revokedWs.closeReason, 'api_key_revoked');
  t.deepEqual(revokedSse.inbox.all.at(-1), { event: 'api_key_revoked', data: { type: 'api_key_revoked' } });
  t.is(sys.web!.streams.registry.heldBy(`key:${keyId}`), 0);

  t.deepEqual(
    published.map((p) => JSON.parse(p)),
    [{ type: 'api_key_revoked', keyId }],
  );
  t.false(published.join('').includes(apiKey.slice(12)));

  await sys.send({ to: box.address, subject: 'still here', text: 'x' });
  t.is((await survivor.next((f) => f.type === 'new_message')).message.subject, 'still here');
  t.is((await survivorSse.next((e) => e.event === 'new_message')).data.message.subject, 'still here');
  t.is((await refusedWs(ws(sys, box.address), apiKey)).status, 401);
  survivor.close();
  survivorSse.close();
});

type Attempt = { status?: number; code?: string; close?: () => void };

/** Open one stream; an accepted one comes back with `close`, a refused one with its status and error code. */
async function attempt(sys: System, address: string, transport: 'sse' | 'ws', token: string): Promise<Attempt> {
  if (transport === 'sse') {
    const c = await openSse(sse(sys, address), { token });
    return c.status === 200 ? { status: 200, close: c.close } : { status: c.status, code: c.body?.error?.code };
  }
  try {
    const c = await openWs(ws(sys, address), { token });
    return { status: 101, close: () => c.close() };
  } catch (err) {
    const e = err as { status?: number; body?: any };
    return { status: e.status, code: e.body?.error?.code };
  }
}

async function heldInProcess(sys: System, held: number) {
  const until = Date.now() + 5_000;
  while (sys.web!.streams.registry.held() !== held) {
    if (Date.now() > until) throw new Error(`the process still holds ${sys.web!.streams.registry.held()} stream slots`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The caps must hold for opens that race: authentication, the mailbox and the token's expiry are awaited,
// and the process cap was once checked before the token's expiry was read, which let racing opens with
// mailbox tokens through (20 opens of one token with room for 2 gave 3; 40 over 8 tokens, cap 5, gave 8 to 12)
test('a burst of concurrent SSE and WS opens never exceeds STREAM_MAX_PER_PROCESS or STREAM_MAX_PER_CREDENTIAL; the rest get 503 / 429; every slot comes back', async (t) => {
  const sys = await startSystem({
    roles: ['web'],
    env: { STREAM_MAX_PER_PROCESS: '5', STREAM_MAX_PER_CREDENTIAL: '3' },
  });
  t.teardown(() => sys.stop());
  const box = await sys.createMailbox('?ttl_minutes=60');
  const tokens: string[] = [box.token];
  for (let i = 0; i < 7; i += 1) {
    const minted = await sys.json(`/api/v1/mailboxes/${box.address}/tokens`, {
      method: 'POST',
      token: box.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ permissions: ['read'] }),
    });
    t.is(minted.status, 201);
    tokens.push(minted.body.token);
  }
  const burst = (n: number, tokenOf: (i: number) => string) =>
    Promise.all(Array.from({ length: n }, (_, i) => attempt(sys, box.address, i % 2 ? 'ws' : 'sse', tokenOf(i))));
  const opened = (rs: Attempt[]) => rs.filter((r) => r.close);
  const refusals = (rs: Attempt[]) => rs.filter((r) => !r.close).map((r) => `${r.status} ${r.code}`);
  const registry = sys.web!.streams.registry;

  // 20 racing opens of one token: exactly its 3 slots, 17 x 429
  const one = await burst(20, () => tokens[0]!);
  t.is(opened(one).length, 3);
  t.deepEqual(new Set(refusals(one)), new Set(['429 too_many_streams']));
  t.is(registry.heldBy(`token:${jtiOf(tokens[0]!)}`), 3);

  // 20 racing opens of another token, with room for 2 in the process: exactly 2, 18 x 503
  const two = await burst(20, () => tokens[1]!);
  t.is(opened(two).length, 2);
  t.deepEqual(new Set(refusals(two)), new Set(['503 service_unavailable']));
  t.is(registry.held(), 5);
  t.true(registry.size() <= 5);

  // every slot comes back: the 5 streams' when they close, and none was kept by the 35 refused opens
  for (const r of [...one, ...two]) r.close?.();
  await heldInProcess(sys, 0);

  // 40 racing opens over 8 tokens: exactly 5 in the process, at most 3 per token, only 429 / 503 refusals
  const mixed = await burst(40, (i) => tokens[i % 8]!);
  t.is(opened(mixed).length, 5);
  t.is(registry.held(), 5);
  for (const token of tokens) t.true(registry.heldBy(`token:${jtiOf(token)}`) <= 3);
  for (const refusal of refusals(mixed))
    t.true(['429 too_many_streams', '503 service_unavailable'].includes(refusal), refusal);
  t.true(refusals(mixed).includes('503 service_unavailable'));
  for (const r of mixed) r.close?.();
  await heldInProcess(sys, 0);
  t.is(registry.size(), 0);
});
