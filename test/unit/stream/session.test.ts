import test from 'ava';
import { pino } from 'pino';
import type { MailEvent } from '../../../src/pubsub/events.js';
import type { EndReason, StreamFrame } from '../../../src/stream/frames.js';
import { createHub } from '../../../src/stream/hub.js';
import { createStreamRegistry } from '../../../src/stream/registry.js';
import { openStream, type StreamDeps } from '../../../src/stream/session.js';
import type { Mailbox } from '../../../src/store/mailboxes.js';
import type { MessageSummary } from '../../../src/store/messages.js';

const MAILBOX = 'mb-1';
const msg = (seq: number): MessageSummary => ({
  id: `M${seq}`,
  seq,
  mailboxId: MAILBOX,
  fromAddress: 'a@b.c',
  subject: `s${seq}`,
  receivedAt: new Date(0),
  isRead: false,
  hasAttachments: false,
  tag: null,
});
const event = (seq: number): MailEvent => ({
  type: 'new_message',
  mailboxId: MAILBOX,
  cursor: String(seq),
  message: { id: `M${seq}`, from_address: 'a@b.c', subject: `s${seq}`, received_at: null, has_attachments: false },
});

/** In-memory stores; `gate` holds every list() until released, to interleave live events with a replay. */
function fixture(opts: { stored: number; maxPendingEvents?: number }) {
  const rows = Array.from({ length: opts.stored }, (_, i) => msg(i + 1));
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const mailbox = {
    id: MAILBOX,
    lastSeq: opts.stored,
    isActive: true,
    expiresAt: null,
    deactivatedReason: null,
  } as unknown as Mailbox;
  const hub = createHub();
  const gauge = { inc: () => undefined, dec: () => undefined };
  const deps: StreamDeps = {
    config: {
      streams: {
        pingMs: 60_000,
        replayPage: 2,
        maxPendingEvents: opts.maxPendingEvents ?? 100,
        maxBufferedBytes: 1 << 20,
        maxPerProcess: 10,
        maxPerCredential: 10,
        subscribeWaitMs: 1_000,
        unsubscribeLingerMs: 0,
      },
    },
    log: pino({ level: 'silent' }),
    hub,
    registry: createStreamRegistry({ pingMs: 60_000, metrics: { openStreams: gauge as never } }),
    stores: {
      mailboxes: {
        findById: async () => ({ ...mailbox, lastSeq: rows.length ? rows[rows.length - 1]!.seq : 0 }),
      } as never,
      messages: {
        list: async (_id: string, q: { afterSeq?: number; limit: number }) => {
          if (gate) await gate;
          return rows.filter((r) => r.seq > (q.afterSeq ?? 0)).slice(0, q.limit);
        },
      } as never,
    },
  };
  const frames: StreamFrame[] = [];
  const ended: EndReason[] = [];
  const open = (
    since: number | undefined,
    principal = { kind: 'token', jti: 'j1', mailboxId: MAILBOX, permissions: ['read'], userId: null } as const,
  ) =>
    openStream(deps, {
      mailbox,
      principal: principal as never,
      since,
      sink: {
        transport: 'ws',
        send: (f) => frames.push(f),
        ping: () => undefined,
        buffered: () => 0,
        end: (r) => ended.push(r),
      },
    });
  return {
    rows,
    hub,
    deps,
    frames,
    ended,
    open,
    hold() {
      gate = new Promise((r) => {
        release = () => {
          gate = undefined;
          r();
        };
      });
    },
    release: () => release?.(),
    commit(seq: number) {
      rows.push(msg(seq));
    },
    cursors: () => frames.filter((f) => f.type === 'new_message').map((f) => Number((f as { cursor: string }).cursor)),
  };
}

const settle = async (until: () => boolean) => {
  for (let i = 0; i < 1000 && !until(); i++) await new Promise((r) => setImmediate(r));
};

test('replay pages through everything after the cursor, in order', async (t) => {
  const f = fixture({ stored: 5 });
  f.open(1);
  await settle(() => f.cursors().length === 4);
  t.deepEqual(f.frames[0], { type: 'ready', cursor: '1' });
  t.deepEqual(f.cursors(), [2, 3, 4, 5]);
});

test('live events that arrive during the replay are buffered and never duplicated', async (t) => {
  const f = fixture({ stored: 3 });
  f.hold();
  f.open(0);
  await settle(() => f.frames.length === 1); // ready sent, replay held
  f.commit(4);
  f.hub.dispatch(event(2)); // already part of the replay
  f.hub.dispatch(event(4)); // committed during the replay
  f.release();
  await settle(() => f.cursors().length >= 4);
  f.commit(5);
  f.hub.dispatch(event(5));
  f.hub.dispatch(event(5)); // a re-run job publishes twice
  await settle(() => f.cursors().length >= 5);
  t.deepEqual(f.cursors(), [1, 2, 3, 4, 5]);
});

test('a jump in cursors (lost or crossed publish) is filled from the store, in order', async (t) => {
  const f = fixture({ stored: 1 });
  f.open(undefined);
  await settle(() => f.frames.length === 1);
  t.deepEqual(f.frames[0], { type: 'ready', cursor: '1' });
  f.commit(2);
  f.commit(3);
  f.hub.dispatch(event(3)); // the publish for 2 was lost (or will arrive late)
  await settle(() => f.cursors().length === 2);
  f.hub.dispatch(event(2)); // late: already sent
  await settle(() => false);
  t.deepEqual(f.cursors(), [2, 3]);
});

test('a cursor from the future is clamped to the mailbox cursor', async (t) => {
  const f = fixture({ stored: 2 });
  f.open(99);
  await settle(() => f.frames.length === 1);
  t.deepEqual(f.frames[0], { type: 'ready', cursor: '2' });
  f.commit(3);
  f.hub.dispatch(event(3));
  await settle(() => f.cursors().length === 1);
  t.deepEqual(f.cursors(), [3]);
});

test('mailbox_expired is sent after pending messages, then the stream ends', async (t) => {
  const f = fixture({ stored: 0 });
  f.open(undefined);
  await settle(() => f.frames.length === 1);
  f.commit(1);
  f.hub.dispatch(event(1));
  f.hub.dispatch({ type: 'mailbox_expired', mailboxId: MAILBOX, reason: 'expired' });
  await settle(() => f.ended.length === 1);
  t.deepEqual(
    f.frames.slice(1).map((x) => x.type),
    ['new_message', 'mailbox_expired'],
  );
  t.deepEqual(f.ended, ['mailbox_expired']);
  t.is(f.hub.size(), 0);
  t.is(f.deps.registry.size(), 0);
});

test('token_revoked ends only streams opened with that jti, even during a replay', async (t) => {
  const f = fixture({ stored: 3 });
  f.hold();
  f.open(0);
  f.open(0, { kind: 'token', jti: 'other', mailboxId: MAILBOX, permissions: ['read'], userId: null } as never);
  await settle(() => f.frames.length === 2);
  f.hub.dispatch({ type: 'token_revoked', mailboxId: MAILBOX, jti: 'j1' });
  t.deepEqual(f.ended, ['token_revoked']);
  t.is(f.hub.size(), 1);
  f.release();
});

test('api_key_revoked (no mailbox) ends only streams opened with that API key', async (t) => {
  const f = fixture({ stored: 0 });
  const user = (apiKeyId: string) => ({ kind: 'user', userId: 'u1', planId: 'free', apiKeyId }) as never;
  f.open(undefined, user('k1'));
  f.open(undefined, user('k2'));
  f.open(undefined); // a mailbox token
  await settle(() => f.frames.length === 3);
  f.hub.dispatch({ type: 'api_key_revoked', keyId: 'k1' });
  t.deepEqual(f.ended, ['api_key_revoked']);
  t.is(f.hub.size(), 2);
  t.is(f.deps.registry.size(), 2);
});

test('too many pending events end the stream as overloaded (the client resumes from its cursor)', async (t) => {
  const f = fixture({ stored: 1, maxPendingEvents: 3 });
  f.hold();
  f.open(0);
  await settle(() => f.frames.length === 1);
  for (const seq of [2, 3, 4, 5]) f.hub.dispatch(event(seq));
  t.deepEqual(f.ended, ['overloaded']);
  f.release();
  t.is(f.hub.size(), 0);
});

test('the closer the transport calls unsubscribes and unregisters once', async (t) => {
  const f = fixture({ stored: 0 });
  const close = f.open(undefined);
  await settle(() => f.frames.length === 1);
  t.is(f.deps.registry.size(), 1);
  close();
  close();
  t.is(f.hub.size(), 0);
  t.is(f.deps.registry.size(), 0);
  t.deepEqual(f.ended, ['client_gone']);
});
