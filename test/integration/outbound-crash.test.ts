import anyTest, { type TestFn } from 'ava';
import { generateKey } from '../../src/core/secret-box.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { envFor, spawnRole, type RoleProcess } from '../helpers/spawn-role.js';
import { startSystem, type System } from '../helpers/system.js';
import { eventTypes, outboundEnv, postSend, senderMailbox, waitForStatus } from '../helpers/outbound.js';

/**
 * The at-least-once window, for real: the worker runs in a child process (src/bin/worker.ts); the test relay stops
 * it at the final dot, answers 250, then kills it. Only a new worker's recovery can finish the message.
 */
const test = anyTest as TestFn<{ sys: System; sink: SmtpSink; key: string; address: string; workers: RoleProcess[] }>;

test.before(async (t) => {
  const sink = await startSmtpSink();
  const sys = await startSystem({ env: outboundEnv(sink.url), roles: ['web'] });
  const { tenant, address } = await senderMailbox(sys);
  t.context = { sys, sink, key: tenant.apiKey, address, workers: [] };
});
test.after.always(async (t) => {
  for (const w of t.context.workers) await w.stop();
  await t.context.sys?.stop();
  await t.context.sink?.stop();
});

const credentialsKey = generateKey();
/** what a test hands to the next one (they run serially) */
const state: {
  crash?: { id: string; messageId: string };
  flow?: { start: number; ids: string[]; recipients: string[]; atKill: number };
} = {};
function worker(t: { context: { sys: System; sink: SmtpSink; workers: RoleProcess[] } }): RoleProcess {
  const w = spawnRole(
    'worker',
    envFor(t.context.sys.config, {
      ...outboundEnv(t.context.sink.url),
      CREDENTIALS_KEY: credentialsKey,
      MAINTENANCE_WORKER: 'false',
      WORKER_THREAD: 'false',
    }),
  );
  t.context.workers.push(w);
  return w;
}

test.serial(
  'killed between the relay’s 250 and the commit: the row stays sending, the relay has the first copy',
  async (t) => {
    const { sys, sink, key, address } = t.context;
    const w1 = worker(t);
    await w1.waitFor('outbound.started', 90_000);
    const pid = w1.child.pid!;
    let stopped = false;
    sink.onFinalDot = (_msg, reply) => {
      if (stopped) return reply();
      stopped = true;
      process.kill(pid, 'SIGSTOP'); // frozen after writing the final dot, before reading the reply
      reply(); // 250 reaches a socket nobody reads
      setTimeout(() => process.kill(pid, 'SIGKILL'), 200);
    };
    const r = await postSend(sys, address, key, { to: 'crash@example.org', subject: 'once or twice', text: 't' });
    t.is(r.status, 202);
    const id = r.body.messages[0].id;
    const exit = await w1.exited;
    t.is(exit.signal, 'SIGKILL');
    const stuck = await sys.deps.db('outbound_messages').where({ id }).first();
    t.is(stuck.status, 'sending', 'the 250 was never recorded');
    t.is(stuck.attempts, 1);
    t.is(sink.messages.length, 1, 'the relay has the first copy');

    state.crash = { id, messageId: r.body.message_id };
  },
);

// separate tests: ava's inactivity timeout (60 s) would otherwise span two worker start-ups on a loaded machine
test.serial(
  '… and a new worker recovers it: the copy has the same Message-ID and bytes; sent, attempts 2',
  async (t) => {
    const { sys, sink } = t.context;
    const { id, messageId } = state.crash!;
    const w2 = worker(t);
    const t0 = Date.now();
    await w2.waitFor('outbound.started', 90_000);
    t.log(`second worker started in ${Date.now() - t0} ms`);
    const row = await waitForStatus(sys, id, ['sent', 'failed'], 60_000);
    t.log(`recovered ${Date.now() - t0} ms after the second worker was spawned`);
    t.is(row.status, 'sent');
    t.is(row.attempts, 2);
    t.deepEqual(await eventTypes(sys, id), ['queued', 'sending', 'sending', 'sent']);
    const sending = await sys.deps
      .db('outbound_message_events')
      .where({ outbound_message_id: id, type: 'sending' })
      .orderBy('id');
    t.deepEqual(sending[1].payload, { attempt: 2, recovered: true });
    t.is(sink.messages.length, 2);
    t.is(sink.messages[0]!.messageId, messageId);
    t.is(sink.messages[1]!.messageId, messageId, 'the copy keeps the Message-ID');
    t.true(sink.messages[0]!.raw.equals(sink.messages[1]!.raw), 'the same bytes');
    await w2.waitFor('outbound.recovered', 30_000);
    sink.onFinalDot = undefined;
    await w2.stop();
  },
);

test.serial('SIGKILL in a 200-message flow, part one: the worker is killed mid-flow', async (t) => {
  const { sys, sink, key, address } = t.context;
  const start = sink.messages.length;
  sink.onFinalDot = (_msg, reply) => setTimeout(reply, 5); // slow enough to be killed mid-flow
  const w1 = worker(t);
  await w1.waitFor('outbound.started', 90_000);
  const ids: string[] = [];
  const recipients: string[] = [];
  for (let b = 0; b < 4; b++) {
    const to = Array.from({ length: 50 }, (_, i) => `flow${b * 50 + i}@example.org`);
    recipients.push(...to);
    const r = await postSend(sys, address, key, { to, subject: `flow ${b}`, text: 't' });
    t.is(r.status, 202);
    ids.push(...r.body.messages.map((m: any) => m.id));
  }
  await sink.waitFor(() => sink.messages.length - start >= 40, 30_000, '40 deliveries');
  w1.signal('SIGKILL');
  await w1.exited;
  const atKill = sink.messages.length - start;
  t.true(atKill < 200, `killed mid-flow (${atKill} delivered)`);
  state.flow = { start, ids, recipients, atKill };
});

// separate tests: ava's inactivity timeout (60 s) would otherwise span two worker start-ups on a loaded machine
test.serial(
  '… a new worker finishes the 200-message flow: none lost; a second copy only for a row recovered from the window',
  async (t) => {
    const { sys, sink } = t.context;
    const { start, ids, recipients, atKill } = state.flow!;
    const w2 = worker(t);
    for (const id of ids) t.is((await waitForStatus(sys, id, ['sent', 'failed'], 120_000)).status, 'sent');
    const copies = new Map<string, number>();
    for (const m of sink.messages.slice(start)) for (const to of m.to) copies.set(to, (copies.get(to) ?? 0) + 1);
    t.deepEqual(
      recipients.filter((r) => !copies.has(r)),
      [],
      'every recipient got the message',
    );
    const twice = [...copies].filter(([, n]) => n > 1).map(([r]) => r);
    for (const r of twice) {
      const row = await sys.deps.db('outbound_messages').whereIn('id', ids).where({ recipient_email: r }).first();
      const recovered = await sys.deps
        .db('outbound_message_events')
        .where({ outbound_message_id: row.id, type: 'sending' })
        .whereRaw(`payload->>'recovered' = 'true'`);
      t.is(recovered.length, 1, `${r}: a second copy only after a recovery`);
    }
    t.true(twice.length <= 16, `at most OUTBOUND_CONCURRENCY copies twice (${twice.length})`);
    t.log(`delivered before the kill: ${atKill}; sent twice: ${twice.length}`);
    sink.onFinalDot = undefined;
    await w2.stop();
  },
);

test.serial('SIGTERM with a send in flight: the worker finishes it (sent, attempts 1) before it exits', async (t) => {
  const { sys, sink, key, address } = t.context;
  const w = worker(t);
  await w.waitFor('outbound.started', 90_000);
  let release: (() => void) | undefined;
  sink.onFinalDot = (_msg, reply) => {
    release = reply;
  };
  const r = await postSend(sys, address, key, { to: 'term@example.org', subject: 's', text: 't' });
  const id = r.body.messages[0].id;
  await sink.waitFor(() => release !== undefined, 20_000, 'final dot');
  w.signal('SIGTERM');
  await w.waitFor('shutdown.start', 10_000);
  release!(); // the relay answers only after the worker was asked to stop
  const exit = await w.exited;
  t.is(exit.code, 0);
  const row = await sys.deps.db('outbound_messages').where({ id }).first();
  t.is(row.status, 'sent');
  t.is(row.attempts, 1);
  sink.onFinalDot = undefined;
});
