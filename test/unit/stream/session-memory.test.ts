import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import type { Mailbox } from '../../../src/store/mailboxes.js';
import type { StreamPrincipal } from '../../../src/stream/credential.js';
import { createHub } from '../../../src/stream/hub.js';
import { createStreamRegistry } from '../../../src/stream/registry.js';
import { openStream, type StreamDeps } from '../../../src/stream/session.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = () => new Promise((r) => setImmediate(r));

// The roles run under tsx, whose transform renames every named closure with Object.defineProperty:
// such a function goes to dictionary mode and costs ~300 bytes more. An idle stream that kept its
// state in ~16 named closures held ~6 KB here; as a class with a sink object it holds about 1 KB.
test('an idle stream (session, hub entry, registry entry) holds little JS heap', async (t) => {
  const n = 5_000;
  const mailbox = {
    id: 'mb-1',
    lastSeq: 0,
    isActive: true,
    expiresAt: new Date(Date.now() + 3_600_000),
    deactivatedReason: null,
  } as unknown as Mailbox;
  const deps: StreamDeps = {
    config: {
      streams: {
        pingMs: 60_000,
        replayPage: 100,
        maxPendingEvents: 100,
        maxBufferedBytes: 1 << 20,
        maxPerProcess: n,
        maxPerCredential: n,
        subscribeWaitMs: 1_000,
        unsubscribeLingerMs: 0,
      },
    },
    log: pino({ level: 'silent' }),
    hub: createHub(),
    registry: createStreamRegistry({
      pingMs: 60_000,
      metrics: { openStreams: { inc: () => undefined, dec: () => undefined } as never },
    }),
    stores: {
      mailboxes: { findById: async () => mailbox } as never,
      messages: { list: async () => [] } as never,
    },
  };
  const expiresAt = new Date(Date.now() + 3_600_000);
  const principal: StreamPrincipal = {
    kind: 'token',
    jti: 'j1',
    mailboxId: mailbox.id,
    permissions: ['read'],
    userId: null,
    expiresAt,
  };
  const sink = {
    transport: 'ws' as const,
    send: () => undefined,
    ping: () => undefined,
    buffered: () => 0,
    end: () => undefined,
  };
  const closers: Array<() => void> = [];
  const heap = async () => {
    for (let i = 0; i < 3; i++) {
      await settle();
      gc();
    }
    return process.memoryUsage().heapUsed;
  };
  const before = await heap();
  for (let i = 0; i < n; i++)
    closers.push(openStream(deps, { mailbox, principal, since: undefined, credentialExpiresAt: expiresAt, sink }));
  const after = await heap();
  t.is(deps.hub.size(), n);
  const perStream = (after - before) / n;
  t.log(`${perStream.toFixed(0)} bytes per idle stream`);
  t.true(perStream < 2_000, `${perStream.toFixed(0)} bytes per idle stream`);
  for (const close of closers) close();
  t.is(deps.hub.size(), 0);
});
