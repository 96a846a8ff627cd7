// npm run bench:streams — real-time delivery figures on this machine (web, smtp and worker each in
// their own process, clients in this one). Knobs: BENCH_SUBSCRIBERS (10000), BENCH_SSE_SUBSCRIBERS
// (10000), BENCH_MESSAGES (300), BENCH_CONCURRENCY (8), BENCH_SPREAD_MAILBOXES (2000: WebSocket subscribers
// on that many mailboxes, one each), BENCH_WEB_NODE_FLAGS (extra node flags of the web role). A transport
// or phase with 0 subscribers is skipped. Needs the local PostgreSQL and Redis.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestDatabase } from '../test/helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../test/helpers/redis.js';
import { RawSmtp } from '../test/helpers/smtp-client.js';
import { pool, sseSubscriber, wsSubscriber, type OnFrame } from './streams-clients.js';
import { freePort, fullGc, ms, pct, startRole, type Proc } from './streams-procs.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const N_IDLE = num('BENCH_SUBSCRIBERS', 10_000);
const N_SSE_IDLE = num('BENCH_SSE_SUBSCRIBERS', 10_000);
const N_MSGS = num('BENCH_MESSAGES', 300);
const N_SPREAD = num('BENCH_SPREAD_MAILBOXES', 2_000);
const CONCURRENCY = num('BENCH_CONCURRENCY', 8);
/** extra node flags for the web role (e.g. --max-semi-space-size=...) */
const NODE_FLAGS = (process.env.BENCH_WEB_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const N_BOXES = 20;
const DOMAIN = 'bench.test';
const pause = (n: number) => new Promise((r) => setTimeout(r, n));

const db = await createTestDatabase();
const prefix = uniquePrefix();
const [webPort, smtpPort] = [await freePort(), await freePort()];
const env = {
  NODE_ENV: 'test',
  DATABASE_URL: db.url,
  DATABASE_POOL_MAX: '10',
  REDIS_URL: TEST_REDIS_URL,
  QUEUE_PREFIX: prefix,
  TOKEN_SECRET: randomBytes(32).toString('hex'),
  MAIL_DOMAINS: DOMAIN,
  HOST: '127.0.0.1',
  PORT: String(webPort),
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(smtpPort),
  STREAM_MAX_PER_PROCESS: '50000',
  STREAM_MAX_PER_CREDENTIAL: '50000',
  SMTP_MAX_CLIENTS: '200',
  // one client IP opens all mailboxes and streams: measure the streams, not the rate limiter
  RATE_LIMIT_ENABLED: 'false',
  // phase D waits for the channels of closed streams to be released
  STREAM_UNSUBSCRIBE_LINGER_MS: '1000',
};
const base = `http://127.0.0.1:${webPort}`;
const procs: Proc[] = [];
// the web role listens for the V8 inspector on a loopback port: the bench asks it for a full GC (the
// JS heap still in use after it is what the idle subscribers really hold; RSS also counts garbage not
// yet collected). A full GC, unlike a heap snapshot, leaves no large native buffers behind in RSS.
let inspectPort = 0;
const startWeb = async () => {
  inspectPort = await freePort();
  const p = await startRole('web', env, 'web.listening', [`--inspect=127.0.0.1:${inspectPort}`, ...NODE_FLAGS]);
  procs.push(p);
  return p;
};
/** the web role's own /metrics; once more on a reset (a kept-alive connection to the previous web process) */
const metricsText = async (): Promise<string> => {
  try {
    return await (await fetch(`${base}/metrics`)).text();
  } catch {
    await pause(200);
    return (await fetch(`${base}/metrics`)).text();
  }
};
/** JS heap in use (MB), from the web role's own /metrics (prom-client's nodejs_heap_size_used_bytes) */
const heapUsedMb = async () => {
  const text = await metricsText();
  return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? NaN) / 1e6;
};
/** the web role's memory (MB) from its /metrics: RSS and where it is (V8 heap committed by space, the rest native) */
const memoryMb = async () => {
  const text = await metricsText();
  const labels = (space?: string) => (space ? `\\{[^}]*space="${space}"[^}]*\\}` : '(?:\\{[^}]*\\})?');
  const read = (name: string, space?: string) =>
    Number(new RegExp(`^${name}${labels(space)} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1e6;
  const heap = read('nodejs_heap_size_total_bytes');
  return {
    rss: read('process_resident_memory_bytes'),
    heap,
    young: read('nodejs_heap_space_size_total_bytes', 'new'),
    old: read('nodejs_heap_space_size_total_bytes', 'old'),
    external: read('nodejs_external_memory_bytes'),
  };
};
const perSubscriberKb = (before: number, after: number, n: number) => (((after - before) * 1000) / n).toFixed(1);
/** a full GC in the web role (the inspector's HeapProfiler.collectGarbage), then its heap in use */
const heapAfterFullGcMb = async () => {
  await fullGc(inspectPort);
  return heapUsedMb();
};

async function mailbox(): Promise<{ address: string; token: string }> {
  const r = await fetch(`${base}/api/v1/mailboxes?ttl_minutes=60`, { method: 'POST' });
  if (r.status !== 201) throw new Error(`create mailbox: ${r.status}`);
  return (await r.json()) as { address: string; token: string };
}

/** One SMTP session; returns the time the last byte of DATA was handed to the socket. */
async function send(to: string, subject: string): Promise<number> {
  const { client } = await RawSmtp.open(smtpPort);
  try {
    await client.command('EHLO bench.local');
    await client.command('MAIL FROM:<load@bench.example>');
    await client.command(`RCPT TO:<${to}>`);
    const go = await client.command('DATA');
    if (!go.startsWith('354')) throw new Error(go);
    const body = `From: load@bench.example\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nYour code is 123456\r\n.\r\n`;
    const t0 = performance.now();
    client.socket.write(body);
    const reply = await client.reply();
    if (!reply.startsWith('250')) throw new Error(reply);
    await client.command('QUIT').catch(() => '');
    return t0;
  } finally {
    client.socket.destroy();
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await pause(20);
  }
}

const lines: string[] = [];
const out = (s: string) => {
  lines.push(s);
  console.log(s);
};

try {
  procs.push(await startRole('worker', env, 'worker.started'), await startRole('smtp', env, 'smtp.listening'));
  let web = await startWeb();
  out(`# streams benchmark  node ${process.version}, ${new Date().toISOString()}`);

  // A. latency under load: N_BOXES mailboxes, each followed by one WS and one SSE client
  const sentAt = new Map<string, number>();
  const wsLat: number[] = [];
  const sseLat: number[] = [];
  const fromPublish: number[] = [];
  const record =
    (into: number[]): OnFrame =>
    (f, at) => {
      if (f.type !== 'new_message') return;
      const t0 = sentAt.get(f.message.subject);
      if (t0 !== undefined) into.push(at - t0);
      const p = publishedAt.get(f.message.subject);
      if (p !== undefined) fromPublish.push(at - p);
    };
  // a Redis observer in this process: when each event was published (splits pipeline time from stream time)
  const publishedAt = new Map<string, number>();
  const observer = new Redis(TEST_REDIS_URL);
  observer.on('pmessage', (_p: string, _c: string, payload: string) => {
    const e = JSON.parse(payload);
    if (e.type === 'new_message') publishedAt.set(e.message.subject, performance.now());
  });
  await observer.psubscribe(`${prefix}:mailbox:*`);
  const boxes = await Promise.all(Array.from({ length: N_BOXES }, mailbox));
  const wsClients = await Promise.all(boxes.map((b) => wsSubscriber(base, b.address, b.token, record(wsLat))));
  const sseClients = await Promise.all(boxes.map((b) => sseSubscriber(base, b.address, b.token, record(sseLat))));
  const started = performance.now();
  await pool(
    Array.from({ length: N_MSGS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const subject = `bench-${i}`;
      const box = boxes[i % N_BOXES]!;
      // t0 is set just before DATA's last byte; the event cannot arrive earlier
      const pending = send(box.address, subject);
      sentAt.set(subject, Infinity);
      sentAt.set(subject, await pending);
    },
  );
  await until(() => wsLat.length >= N_MSGS && sseLat.length >= N_MSGS, 60_000, 'all events');
  const seconds = (performance.now() - started) / 1000;
  out(
    `\n## A. end of SMTP DATA -> event at the client (${N_MSGS} messages, ${CONCURRENCY} concurrent SMTP sessions, ${N_BOXES} mailboxes; ${(N_MSGS / seconds).toFixed(0)} msg/s)`,
  );
  out(`WebSocket: p50 ${ms(pct(wsLat, 50))}  p99 ${ms(pct(wsLat, 99))}  max ${ms(Math.max(...wsLat))}`);
  out(`SSE:       p50 ${ms(pct(sseLat, 50))}  p99 ${ms(pct(sseLat, 99))}  max ${ms(Math.max(...sseLat))}`);
  const pipeline = [...sentAt]
    .map(([subject, t0]) => (publishedAt.get(subject) ?? NaN) - t0)
    .filter((x) => !Number.isNaN(x));
  out(
    `  of which end of DATA -> Redis publish (ingress, queue, worker pipeline): p50 ${ms(pct(pipeline, 50))}  p99 ${ms(pct(pipeline, 99))}`,
  );
  out(
    `  and Redis publish -> client (subscriber, hub, stream; both transports): p50 ${ms(pct(fromPublish, 50))}  p99 ${ms(pct(fromPublish, 99))}`,
  );
  observer.disconnect();
  for (const w of wsClients) w.terminate();
  for (const s of sseClients) s.close();

  // B/C. idle subscribers on one fresh web process each, all on ONE mailbox, then fan-out of one event
  for (const [transport, n] of [
    ['WebSocket', N_IDLE],
    ['SSE', N_SSE_IDLE],
  ] as const) {
    if (n === 0) continue;
    await web.stop();
    web = await startWeb();
    const box = await mailbox();
    await pause(1_000);
    // like for like: both heap readings after a full GC; RSS is read after the first one
    const heapBefore = await heapAfterFullGcMb();
    await pause(1_000);
    const before = web.rssKb();
    const memBefore = await memoryMb();
    const arrivals: number[] = [];
    const onFrame: OnFrame = (f, at) => {
      if (f.type === 'new_message') arrivals.push(at);
    };
    const closers: Array<() => void> = [];
    const connectStart = performance.now();
    await pool(
      Array.from({ length: n }, (_, i) => i),
      100,
      async () => {
        if (transport === 'WebSocket') {
          const w = await wsSubscriber(base, box.address, box.token, onFrame);
          closers.push(() => w.terminate());
        } else {
          const s = await sseSubscriber(base, box.address, box.token, onFrame);
          closers.push(() => s.close());
        }
      },
    );
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await pause(3_000);
    const after = web.rssKb();
    const memAfter = await memoryMb();
    out(`\n## ${transport}: ${n} idle subscribers in one web process (connected in ${connectSeconds.toFixed(1)} s)`);
    out(
      `web RSS ${(before / 1024).toFixed(0)} MB -> ${(after / 1024).toFixed(0)} MB: ${((after - before) / n).toFixed(1)} KB per subscriber (3 s after connecting; includes garbage not yet collected)`,
    );
    const d = (k: keyof typeof memAfter) => perSubscriberKb(memBefore[k], memAfter[k], n);
    out(
      `  of which V8 heap committed ${d('heap')} KB (young generation ${d('young')}, old ${d('old')}); outside the V8 heap ${perSubscriberKb(memBefore.rss - memBefore.heap, memAfter.rss - memAfter.heap, n)} KB (external ${d('external')})`,
    );
    const heapAfter = await heapAfterFullGcMb();
    const rssAfterGc = web.rssKb();
    out(
      `web JS heap in use after a full GC ${heapBefore.toFixed(1)} MB -> ${heapAfter.toFixed(1)} MB: ${(((heapAfter - heapBefore) * 1000) / n).toFixed(1)} KB per subscriber (what the idle streams hold); RSS then ${((rssAfterGc - before) / n).toFixed(1)} KB per subscriber`,
    );
    for (let round = 1; round <= 3; round++) {
      arrivals.length = 0;
      const t0 = await send(box.address, `fanout-${transport}-${round}`);
      await until(() => arrivals.length >= n, 60_000, `fan-out to ${n}`);
      const first = Math.min(...arrivals);
      const last = Math.max(...arrivals);
      out(
        `fan-out #${round}: first client ${ms(first - t0)}, p50 ${ms(pct(arrivals, 50) - t0)}, last ${ms(last - t0)} after end of DATA; first->last ${ms(last - first)}`,
      );
    }
    for (const c of closers) c();
  }

  // D. subscribers spread over many mailboxes (one each): the web process subscribes one Redis channel per
  // mailbox with a listener, and releases them when the streams close
  if (N_SPREAD > 0) {
    await web.stop();
    web = await startWeb();
    const redis = new Redis(TEST_REDIS_URL);
    const channelCount = async () => ((await redis.pubsub('CHANNELS', `${prefix}:mailbox:*`)) as string[]).length;
    const boxes: Array<{ address: string; token: string }> = [];
    await pool(
      Array.from({ length: N_SPREAD }, (_, i) => i),
      50,
      async () => {
        boxes.push(await mailbox());
      },
    );
    await pause(1_000);
    const before = web.rssKb();
    const closers: Array<() => void> = [];
    const connectStart = performance.now();
    await pool(boxes, 100, async (box) => {
      const w = await wsSubscriber(base, box.address, box.token, () => undefined);
      closers.push(() => w.terminate());
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const subscribed = await channelCount();
    await pause(3_000);
    const after = web.rssKb();
    out(
      `\n## WebSocket: ${N_SPREAD} subscribers on ${N_SPREAD} mailboxes, one each (connected in ${connectSeconds.toFixed(1)} s, each ready only after its channel was subscribed)`,
    );
    out(
      `mailbox channels subscribed in Redis: ${subscribed}; web RSS ${(before / 1024).toFixed(0)} MB -> ${(after / 1024).toFixed(0)} MB: ${((after - before) / N_SPREAD).toFixed(1)} KB per subscriber`,
    );
    for (const c of closers) c();
    const closedAt = performance.now();
    let left = subscribed;
    while (left > 0 && performance.now() - closedAt < 30_000) {
      await pause(200);
      left = await channelCount();
    }
    out(
      `after the streams closed: ${left} channels left ${((performance.now() - closedAt) / 1000).toFixed(1)} s later (STREAM_UNSUBSCRIBE_LINGER_MS=1000 here)`,
    );
    redis.disconnect();
  }
} finally {
  for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  await dropPrefix(prefix).catch(() => undefined);
  await db.drop().catch(() => undefined);
}
process.exit(0);
