import test from 'ava';
import type { MailboxChannels } from '../../../src/pubsub/subscriber.js';
import { createHub, untilListening } from '../../../src/stream/hub.js';

/** Records what the hub asks of the subscriber; `confirm` decides how each SUBSCRIBE is answered. */
function channelsLog(confirm: (mailboxId: string) => Promise<void>) {
  const calls: string[] = [];
  const channels: MailboxChannels = {
    want: (id) => {
      calls.push(`want ${id}`);
      return confirm(id);
    },
    drop: (id) => {
      calls.push(`drop ${id}`);
    },
  };
  return { calls, channels };
}

test('the hub wants a mailbox channel at its first listener and drops it after its last', (t) => {
  const { calls, channels } = channelsLog(async () => undefined);
  const hub = createHub(undefined, channels);
  const a1 = hub.subscribe('a', () => undefined);
  const a2 = hub.subscribe('a', () => undefined);
  const b = hub.subscribe('b', () => undefined);
  t.deepEqual(calls, ['want a', 'want b']);
  a1();
  a1(); // idempotent
  t.deepEqual(calls, ['want a', 'want b'], 'a still has a listener');
  a2();
  b();
  t.deepEqual(calls, ['want a', 'want b', 'drop a', 'drop b']);
  t.is(hub.size(), 0);
});

test('listening resolves when the subscriber confirmed; untilListening gives up after its bound', async (t) => {
  let confirmA!: () => void;
  const { channels } = channelsLog((id) =>
    id === 'a'
      ? new Promise<void>((r) => {
          confirmA = r;
        })
      : id === 'dead'
        ? Promise.reject(new Error('closed'))
        : new Promise<void>(() => undefined),
  );
  const hub = createHub(undefined, channels);
  hub.subscribe('a', () => undefined);
  hub.subscribe('stuck', () => undefined);
  hub.subscribe('dead', () => undefined);
  const a = untilListening(hub, 'a', 5_000);
  confirmA();
  t.true(await a);
  const started = Date.now();
  t.false(await untilListening(hub, 'stuck', 150), 'Redis never answered');
  t.true(Date.now() - started >= 140);
  t.false(await untilListening(hub, 'dead', 5_000), 'the SUBSCRIBE failed');
  t.true(await untilListening(createHub(), 'x', 10), 'a hub without channels listens at once');
});

test('events reach only the listeners of their mailbox', (t) => {
  const hub = createHub();
  const seen: string[] = [];
  hub.subscribe('a', (e) => seen.push(`a:${e.type}`));
  hub.subscribe('b', (e) => seen.push(`b:${e.type}`));
  hub.dispatch({ type: 'mailbox_expired', mailboxId: 'b', reason: 'expired' });
  t.deepEqual(seen, ['b:mailbox_expired']);
});
