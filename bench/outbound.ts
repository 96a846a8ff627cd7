// npm run bench:outbound — outbound sending figures on this machine (needs local Postgres + Redis).
// Two worker processes (src/bin/worker.ts, default OUTBOUND_CONCURRENCY) send to a local SMTP sink in this process;
// the API runs in this process too. BENCH_OUTBOUND_N (10,000) messages of 2 KB are queued through the API (50
// recipients per request), timed from the first request to the last `sent` committed; then POST …/outbound latency at
// BENCH_OUTBOUND_RATE (100) requests/s for BENCH_OUTBOUND_SECONDS (10); then worker RSS while BENCH_OUTBOUND_LONG
// (50,000) more are sent. Figures only, no assertions (docs/benchmarks/).
import { readFileSync } from 'node:fs';
import { generateKey } from '../src/core/secret-box.js';
import { startSmtpSink } from '../test/helpers/smtp-sink.js';
import { envFor, spawnRole, type RoleProcess } from '../test/helpers/spawn-role.js';
import { startSystem, type System } from '../test/helpers/system.js';
import { createTenant } from '../test/helpers/tenants.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const N = num('BENCH_OUTBOUND_N', 10_000);
const RATE = num('BENCH_OUTBOUND_RATE', 100);
const SECONDS = num('BENCH_OUTBOUND_SECONDS', 10);
const LONG = num('BENCH_OUTBOUND_LONG', 50_000);
const PER_REQUEST = 50;
const TEXT = 'x'.repeat(76).concat('\n').repeat(26); // about 2 KB

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const print = (label: string, value: string) => console.log(`${label.padEnd(62)} ${value}`);
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function countSent(sys: System): Promise<number> {
  const [r] = await sys.deps.db('outbound_messages').where({ status: 'sent' }).count<{ n: string }[]>({ n: '*' });
  return Number(r?.n ?? 0);
}

async function waitSent(sys: System, target: number, onTick?: (sent: number) => void) {
  for (;;) {
    const sent = await countSent(sys);
    onTick?.(sent);
    if (sent >= target) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function post(sys: System, address: string, key: string, to: string[]) {
  const t0 = performance.now();
  const res = await fetch(`${sys.baseUrl}/api/v1/mailboxes/${encodeURIComponent(address)}/outbound`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to, subject: 'bench', text: TEXT }),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`send: ${res.status}`);
  return performance.now() - t0;
}

async function queue(sys: System, address: string, key: string, count: number, tag: string) {
  const requests = Math.ceil(count / PER_REQUEST);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < requests; i = next++) {
      const to = Array.from(
        { length: Math.min(PER_REQUEST, count - i * PER_REQUEST) },
        (_, j) => `${tag}${i}-${j}@example.org`,
      );
      await post(sys, address, key, to);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
}

async function main() {
  const sink = await startSmtpSink();
  const sys = await startSystem({
    roles: ['web'],
    env: { OUTBOUND_RELAY_URL: sink.url, LOG_LEVEL: 'silent', DATABASE_POOL_MAX: '10' },
  });
  const workers: RoleProcess[] = [];
  try {
    await sys.deps.db('plans').update({ max_sends_per_day: null });
    const tenant = await createTenant(sys, 'pro');
    const { address } = await sys.createMailbox('', tenant.apiKey);
    const key = generateKey();
    for (let i = 0; i < 2; i++)
      workers.push(
        spawnRole(
          'worker',
          envFor(sys.config, {
            OUTBOUND_RELAY_URL: sink.url,
            CREDENTIALS_KEY: key,
            MAINTENANCE_WORKER: 'false',
            WORKER_THREAD: 'false',
            LOG_LEVEL: 'info',
          }),
        ),
      );
    await Promise.all(workers.map((w) => w.waitFor('outbound.started', 60_000)));
    console.log(
      `outbound benchmark: ${N} messages of ~2 KB, 2 worker processes, local sink, ${new Date().toISOString()}`,
    );

    // 1. throughput: queued through the API, first request → last `sent` committed
    const t0 = performance.now();
    await queue(sys, address, tenant.apiKey, N, 'tp');
    const queuedMs = performance.now() - t0;
    await waitSent(sys, N);
    const totalMs = performance.now() - t0;
    print(
      `throughput: ${N} queued through the API (50 per request)`,
      `${((N / queuedMs) * 1000).toFixed(0)} accepted/s`,
    );
    print(
      `throughput: first request → last sent committed`,
      `${((N / totalMs) * 1000).toFixed(0)} msg/s (${(totalMs / 1000).toFixed(1)} s)`,
    );
    print(`sink: messages received`, String(sink.messages.length));
    sink.messages.length = 0;

    // 2. POST latency at a steady rate (one recipient each), workers sending meanwhile
    const latencies: number[] = [];
    const total = RATE * SECONDS;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(post(sys, address, tenant.apiKey, [`lat${i}@example.org`]).then((ms) => void latencies.push(ms)));
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    print(
      `POST …/outbound at ${RATE}/s for ${SECONDS} s: p50 / p99 / max`,
      `${pct(latencies, 50).toFixed(1)} / ${pct(latencies, 99).toFixed(1)} / ${latencies[latencies.length - 1]!.toFixed(1)} ms`,
    );
    await waitSent(sys, N + total);
    sink.messages.length = 0;

    // 3. worker RSS while LONG more messages are sent
    if (LONG > 0) {
      const base = N + total;
      const marks = [0.2, 0.4, 0.6, 0.8, 1].map((f) => Math.round(base + f * LONG));
      const seen: string[] = [];
      const producing = queue(sys, address, tenant.apiKey, LONG, 'rss');
      let m = 0;
      await waitSent(sys, base + LONG, (sent) => {
        while (m < marks.length && sent >= marks[m]!) {
          seen.push(`${marks[m]}: ${workers.map((w) => rssMb(w.child.pid!).toFixed(0)).join(' + ')} MB`);
          sink.messages.length = 0;
          m++;
        }
      });
      await producing;
      for (const line of seen) print('worker RSS after sent', line);
    }
  } finally {
    for (const w of workers) await w.stop();
    await sys.stop();
    await sink.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
