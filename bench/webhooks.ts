// npm run bench:webhooks — webhook delivery figures on this machine (local Postgres + Redis; a loopback receiver).
// BENCH_FANOUT (events), BENCH_RATE (events/s), BENCH_SECONDS, BENCH_SMTP_MESSAGES override the sizes.
// Everything runs in one process (web + worker + SMTP roles, the receiver and the load), like the other benches' "system" mode.
import nodemailer from 'nodemailer';
import { recordEvents } from '../src/store/events.js';
import { enqueueWebhookDeliveries } from '../src/queue/webhook-jobs.js';
import { startReceiver, type Receiver } from '../test/helpers/webhook-receiver.js';
import { startSystem, type System } from '../test/helpers/system.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const FANOUT = num('BENCH_FANOUT', 3_000);
const RATE = num('BENCH_RATE', 50);
const SECONDS = num('BENCH_SECONDS', 10);
const SMTP_MESSAGES = num('BENCH_SMTP_MESSAGES', 1_000);
const BOXES = 20;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const print = (label: string, value: string) => console.log(`${label.padEnd(62)} ${value}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hookedBoxes(sys: System, url: string, n: number) {
  const boxes = [];
  for (let i = 0; i < n; i++) {
    const box = await sys.createMailbox();
    const r = await sys.json(`/api/v1/mailboxes/${box.address}/webhook`, {
      method: 'PUT',
      token: box.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    if (r.status !== 201) throw new Error(`PUT webhook ${r.status}`);
    const { id } = await sys.deps.db('mailboxes').where({ address: box.address }).first('id');
    boxes.push({ ...box, id: id as string });
  }
  return boxes;
}

/** Record one event per entry (in its own statement, as a change would) and enqueue its delivery. */
async function emit(sys: System, box: { id: string; address: string }, sentAt: Map<string, number>) {
  const [r] = await recordEvents(sys.deps.db, [
    { mailboxId: box.id, mailboxAddress: box.address, type: 'webhook.test', occurredAt: new Date(), data: {} },
  ]);
  sentAt.set(r!.eventId, performance.now());
  await enqueueWebhookDeliveries(sys.deps.queues.webhooks, [r!.deliveryId!]);
}

async function latencyRun(sys: System, rx: Receiver, boxes: Array<{ id: string; address: string }>, label: string) {
  const sentAt = new Map<string, number>();
  const arrived = new Map<string, number>();
  const before = rx.received.length;
  const total = RATE * SECONDS;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    void emit(sys, boxes[i % boxes.length]!, sentAt);
  }
  await rx.waitFor(before + total, 60_000);
  for (const r of rx.received.slice(before)) arrived.set(r.headers['webhook-id'] as string, r.at);
  // the receiver stamps Date.now(); convert the emit times to the same clock
  const offset = Date.now() - performance.now();
  const lat = [...sentAt].map(([id, t]) => (arrived.get(id) ?? NaN) - (t + offset)).sort((a, b) => a - b);
  print(
    `${label}: event -> delivered at ${RATE}/s (n=${lat.length})`,
    `p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`,
  );
}

async function smtpRun(sys: System, boxes: Array<{ address: string; token: string }>, label: string) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sys.smtpPort,
    pool: true,
    maxConnections: 10,
    ignoreTLS: true,
  });
  const before = Number((await sys.deps.db('messages').count({ n: '*' }))[0]!.n);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SMTP_MESSAGES }, (_, i) =>
      transport.sendMail({
        from: 'bench@example.org',
        to: boxes[i % boxes.length]!.address,
        subject: `m${i}`,
        text: 'x'.repeat(2000),
      }),
    ),
  );
  for (;;) {
    const n = Number((await sys.deps.db('messages').count({ n: '*' }))[0]!.n) - before;
    if (n >= SMTP_MESSAGES) break;
    await sleep(20);
  }
  const s = (performance.now() - started) / 1000;
  transport.close();
  print(
    `${label}: ${SMTP_MESSAGES} x 2 KB over SMTP, first send -> last stored`,
    `${(SMTP_MESSAGES / s).toFixed(0)} msg/s`,
  );
}

const rx = await startReceiver();
const hanging = await startReceiver(() => 'hang');
const sys = await startSystem({
  env: {
    WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    WEBHOOK_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'silent',
    DATABASE_POOL_MAX: '20',
  },
});
try {
  console.log(
    `webhooks bench: ${BOXES} mailboxes, receiver on 127.0.0.1, WEBHOOK_CONCURRENCY=${sys.config.webhooks.concurrency}`,
  );
  const boxes = await hookedBoxes(sys, rx.url(), BOXES);

  // 1. fan-out: FANOUT events recorded at once, then every delivery drained
  {
    const sentAt = new Map<string, number>();
    const rows = await recordEvents(
      sys.deps.db,
      Array.from({ length: FANOUT }, (_, i) => ({
        mailboxId: boxes[i % BOXES]!.id,
        mailboxAddress: boxes[i % BOXES]!.address,
        type: 'webhook.test' as const,
        occurredAt: new Date(),
        data: {},
      })),
    );
    const started = performance.now();
    await enqueueWebhookDeliveries(
      sys.deps.queues.webhooks,
      rows.map((r) => r.deliveryId!),
    );
    await rx.waitFor(FANOUT, 120_000);
    const s = (performance.now() - started) / 1000;
    void sentAt;
    print(
      `fan-out: ${FANOUT} deliveries to ${BOXES} endpoints, enqueue -> last received`,
      `${(FANOUT / s).toFixed(0)} deliveries/s`,
    );
  }

  // 2. latency at RATE events/s
  await latencyRun(sys, rx, boxes, 'steady');

  // 3. the same with a hanging receiver also getting events (its own mailbox)
  const [stuck] = await hookedBoxes(sys, hanging.url(), 1);
  for (let i = 0; i < 20; i++) await emit(sys, stuck!, new Map());
  await hanging.waitFor(sys.config.webhooks.maxInFlightPerEndpoint, 10_000);
  await latencyRun(sys, rx, boxes, 'with a hanging receiver');
  print(
    'hanging receiver: requests it holds open',
    `${hanging.inFlight} (WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT=${sys.config.webhooks.maxInFlightPerEndpoint})`,
  );
  hanging.release();

  // 4. inbound SMTP with and without webhooks on the recipients
  const plain = [];
  for (let i = 0; i < BOXES; i++) plain.push(await sys.createMailbox());
  await smtpRun(sys, plain, 'inbound without webhooks');
  await smtpRun(sys, boxes, 'inbound with webhooks (message.received)');
  await rx.waitFor(rx.received.length, 1_000);
} finally {
  await sys.stop();
  await rx.close();
  await hanging.close();
}
