import test from 'ava';
import { MailboxGone, Unauthorized } from '../../../src/core/errors.js';
import type { StreamEvent } from '../../../src/pubsub/events.js';
import type { StreamPrincipal } from '../../../src/stream/credential.js';
import { createHub, type Hub } from '../../../src/stream/hub.js';
import { waitForMatch } from '../../../src/stream/wait.js';

const token = (expiresInMs = 3_600_000): StreamPrincipal => ({
  kind: 'token',
  jti: 'j1',
  mailboxId: 'm1',
  permissions: ['read'],
  userId: null,
  expiresAt: new Date(Date.now() + expiresInMs),
});
const message = (cursor: string): StreamEvent => ({
  type: 'new_message',
  mailboxId: 'm1',
  cursor,
  message: { id: cursor, from_address: null, subject: null, received_at: '', has_attachments: false },
});

/** A wait on mailbox m1 over an in-process hub; `search` answers from `found` and counts its calls. */
function setUp(seconds: number, extra: Partial<Parameters<typeof waitForMatch>[0]> = {}) {
  const hub: Hub = createHub();
  const found: string[] = [];
  let searches = 0;
  const aborted = new AbortController();
  const events: StreamEvent[] = [];
  const run = waitForMatch({
    hub,
    mailboxId: 'm1',
    seconds,
    listenWaitMs: 100,
    signal: aborted.signal,
    principal: token(),
    search: async () => {
      searches += 1;
      for (const e of events.splice(0)) hub.dispatch(e);
      return [...found];
    },
    ...extra,
  });
  return { hub, found, run, aborted, searches: () => searches, duringNextSearch: (e: StreamEvent) => events.push(e) };
}

test('it searches once at the start, again on each new message, and returns the first match', async (t) => {
  const w = setUp(10);
  await new Promise((r) => setImmediate(r));
  t.is(w.searches(), 1);
  w.hub.dispatch(message('1')); // nothing matches yet
  await new Promise((r) => setImmediate(r));
  t.is(w.searches(), 2);
  w.found.push('hit');
  w.hub.dispatch(message('2'));
  t.deepEqual(await w.run, ['hit']);
  t.is(w.searches(), 3);
  t.is(w.hub.size(), 0, 'its hub listener is gone');
});

test('at the deadline it looks once more (a lost publish is still seen), then returns what it finds', async (t) => {
  const w = setUp(0.2);
  await new Promise((r) => setTimeout(r, 50));
  w.found.push('published but never announced');
  t.deepEqual(await w.run, ['published but never announced']);
  t.is(w.searches(), 2);
});

test('a client that leaves ends the wait with [] and no further search', async (t) => {
  const w = setUp(10);
  await new Promise((r) => setImmediate(r));
  w.aborted.abort();
  t.deepEqual(await w.run, []);
  t.is(w.searches(), 1);
});

test('a credential revoked while a search runs outranks what that search found, and a mailbox that ended with it', async (t) => {
  const w = setUp(10);
  await new Promise((r) => setImmediate(r));
  w.duringNextSearch({ type: 'mailbox_expired', mailboxId: 'm1', reason: 'deleted' });
  w.duringNextSearch({ type: 'token_revoked', mailboxId: 'm1', jti: 'j1' });
  w.found.push('too late');
  w.hub.dispatch(message('1'));
  const err = await t.throwsAsync(w.run, { instanceOf: Unauthorized });
  t.is(err?.message, 'token has been revoked');
});

test('a mailbox whose expires_at passes ends the wait with 410 after the database confirms it; an extended TTL waits on', async (t) => {
  const states = [{ expiresAt: new Date(Date.now() + 100) }, { gone: 'expired' as const }];
  let reads = 0;
  const w = setUp(10, {
    mailboxExpiresAt: new Date(Date.now() + 50),
    mailboxState: async () => {
      reads += 1;
      return states.shift()!;
    },
  });
  const err = await t.throwsAsync(w.run, { instanceOf: MailboxGone });
  t.is(err?.code, 'mailbox_expired');
  t.is(reads, 2);
  t.is(w.searches(), 1, 'no search is made for a mailbox that has ended');
});

test('a token that expires during the wait ends it with 401, one that outlives the wait does not', async (t) => {
  const short = setUp(10, { principal: token(50) });
  t.is((await t.throwsAsync(short.run, { instanceOf: Unauthorized }))?.message, 'token has expired');
  const long = setUp(0.1, { principal: token(60_000) });
  t.deepEqual(await long.run, []);
});
