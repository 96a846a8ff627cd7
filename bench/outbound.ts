// npm run bench:outbound — outbound sending figures on this machine (needs local Postgres + Redis).
// Two worker processes (src/bin/worker.ts, default OUTBOUND_CONCURRENCY, the product's DATABASE_POOL_MAX and
// PLAN_CACHE_MS, not the test helpers') send to a local SMTP sink in a child process of its own
// (bench/outbound-sink.ts), and the API is a web process of its own (src/bin/web.ts) like in production: this
// process only generates the load, so neither the relay's nor the HTTP client's CPU is counted against the API.
// BENCH_OUTBOUND_N (10,000) messages of 2 KB are queued through the API (50 recipients per request), timed from
// the first request to the last `sent` committed; then POST …/outbound latency at BENCH_OUTBOUND_RATE (100)
// requests/s for BENCH_OUTBOUND_SECONDS (10); then worker RSS while BENCH_OUTBOUND_LONG (50,000) more are sent.
// The plan keeps a daily send quota (BENCH_OUTBOUND_QUOTA, 1,000,000), so each request takes the quota path a user
// takes. Each phase prints the CPU seconds per 1,000 messages of each process (Postgres: the backends of this
// benchmark's database). Figures only, no assertions (docs/benchmarks/).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { generateKey } from '../src/core/secret-box.js';
import { envFor, spawnRole, type RoleProcess } from '../test/helpers/spawn-role.js';
import { startSystem, type System } from '../test/helpers/system.js';
import { createTenant } from '../test/helpers/tenants.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const N = num('BENCH_OUTBOUND_N', 10_000);
const RATE = num('BENCH_OUTBOUND_RATE', 100);
const SECONDS = num('BENCH_OUTBOUND_SECONDS', 10);
const LONG = num('BENCH_OUTBOUND_LONG', 50_000);
const QUOTA = num('BENCH_OUTBOUND_QUOTA', 1_000_000);
/** a directory: the workers write V8 CPU profiles there (--cpu-prof), stopped with SIGTERM at the end */
const CPU_PROF = process.env.BENCH_OUTBOUND_CPU_PROF;
const PER_REQUEST = 50;
const TEXT = 'x'.repeat(76).concat('\n').repeat(26); // about 2 KB

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const print = (label: string, value: string) => console.log(`${label.padEnd(62)} ${value}`);
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** CPU seconds (user + system) of a process from /proc (0 once it is gone). */
function cpuOfPid(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

interface Sink {
  url: string;
  child: ChildProcess;
  /** messages received so far and the sink process's CPU seconds */
  count(): Promise<{ received: number; cpuS: number }>;
  stop(): Promise<void>;
}

/** The SMTP sink in a child process (bench/outbound-sink.ts), asked over IPC. */
async function startSinkProcess(): Promise<Sink> {
  const child = fork('bench/outbound-sink.ts', [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { kind: string; url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`sink exited (${code})`)));
  });
  return {
    url,
    child,
    count: () =>
      new Promise((resolve) => {
        child.once('message', (m: { received: number; cpu: NodeJS.CpuUsage }) =>
          resolve({ received: m.received, cpuS: (m.cpu.user + m.cpu.system) / 1e6 }),
        );
        child.send({ kind: 'count' });
      }),
    stop: async () => {
      child.send({ kind: 'stop' });
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The spawned web process's base URL (set once it listens). */
let BASE = '';

/** CPU seconds so far of each process: the API (web), the workers, the sink, Postgres, this load generator. */
async function cpuSnapshot(sys: System, web: RoleProcess, workers: RoleProcess[], sink: Sink, pg: Map<number, number>) {
  const { rows } = await sys.deps.db.raw<{ rows: Array<{ pid: number }> }>(
    'select pid from pg_stat_activity where datname = current_database()',
  );
  for (const r of rows) pg.set(r.pid, cpuOfPid(r.pid)); // a backend that closed keeps its last reading
  const client = process.cpuUsage();
  return {
    api: cpuOfPid(web.child.pid!),
    workers: workers.reduce((sum, w) => sum + cpuOfPid(w.child.pid!), 0),
    sink: (await sink.count()).cpuS,
    postgres: [...pg.values()].reduce((a, b) => a + b, 0),
    client: (client.user + client.system) / 1e6,
  };
}
type Cpu = Awaited<ReturnType<typeof cpuSnapshot>>;

function printCpu(label: string, from: Cpu, to: Cpu, messages: number) {
  const per = (k: keyof Cpu) => (((to[k] - from[k]) / messages) * 1000).toFixed(2);
  print(
    `${label}: CPU s per 1,000 messages`,
    `API ${per('api')}, workers ${per('workers')}, sink ${per('sink')}, Postgres ${per('postgres')}, load generator ${per('client')}`,
  );
}

async function countSent(sys: System): Promise<number> {
  const [r] = await sys.deps.db('outbound_messages').where({ status: 'sent' }).count<{ n: string }[]>({ n: '*' });
  return Number(r?.n ?? 0);
}

/**
 * Until `target` rows are `sent`: the sink's count (over IPC) is polled first, so this benchmark does not count
 * the growing table in Postgres every 100 ms while it measures Postgres; then the rows, whose commit is the end.
 */
async function waitSent(sys: System, sink: Sink, target: number, onTick?: (sent: number) => void) {
  for (;;) {
    const received = (await sink.count()).received;
    onTick?.(Math.min(received, target));
    if (received >= target) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  while ((await countSent(sys)) < target) await new Promise((r) => setTimeout(r, 20));
}

async function post(address: string, key: string, to: string[]) {
  const t0 = performance.now();
  const res = await fetch(`${BASE}/api/v1/mailboxes/${encodeURIComponent(address)}/outbound`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to, subject: 'bench', text: TEXT }),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`send: ${res.status}`);
  return performance.now() - t0;
}

async function queue(address: string, key: string, count: number, tag: string) {
  const requests = Math.ceil(count / PER_REQUEST);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < requests; i = next++) {
      const to = Array.from(
        { length: Math.min(PER_REQUEST, count - i * PER_REQUEST) },
        (_, j) => `${tag}${i}-${j}@example.org`,
      );
      await post(address, key, to);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
}

async function main() {
  const sink = await startSinkProcess();
  // the database, Redis prefix and configuration only: no role runs in this process
  const sys = await startSystem({ roles: [], env: { OUTBOUND_RELAY_URL: sink.url, LOG_LEVEL: 'silent' } });
  const workers: RoleProcess[] = [];
  const key = generateKey();
  const roleEnv = envFor(sys.config, {
    OUTBOUND_RELAY_URL: sink.url,
    CREDENTIALS_KEY: key,
    MAINTENANCE_WORKER: 'false',
    WORKER_THREAD: 'false',
    LOG_LEVEL: 'info',
    // the product's defaults, not the test helpers' small pool and disabled plan cache
    DATABASE_POOL_MAX: '10',
    PLAN_CACHE_MS: '10000',
  });
  const web = spawnRole('web', roleEnv);
  try {
    await sys.deps.db('plans').update({ max_sends_per_day: QUOTA });
    for (let i = 0; i < 2; i++)
      workers.push(
        spawnRole('worker', {
          ...roleEnv,
          ...(CPU_PROF ? { NODE_OPTIONS: '--import ./bench/cpu-profile-preload.mjs', CPU_PROFILE_DIR: CPU_PROF } : {}),
        }),
      );
    BASE = `http://127.0.0.1:${String((await web.waitFor('web.listening', 60_000)).port)}`;
    await Promise.all(workers.map((w) => w.waitFor('outbound.started', 60_000)));
    // the roles keep logging lines per request and message: read and dropped from here on, not parsed here
    for (const w of [web, ...workers]) {
      w.child.stdout!.removeAllListeners('data');
      w.child.stdout!.on('data', () => undefined);
    }
    const tenant = await createTenant(sys, 'pro');
    const created = await fetch(`${BASE}/api/v1/mailboxes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    });
    if (created.status !== 201) throw new Error(`create mailbox: ${created.status}`);
    const { address } = (await created.json()) as { address: string };
    const pg = new Map<number, number>();
    console.log(
      `outbound benchmark: ${N} messages of ~2 KB, a web and 2 worker processes, local sink, ${new Date().toISOString()}`,
    );

    // 1. throughput: queued through the API, first request → last `sent` committed
    const cpu0 = await cpuSnapshot(sys, web, workers, sink, pg);
    const t0 = performance.now();
    await queue(address, tenant.apiKey, N, 'tp');
    const queuedMs = performance.now() - t0;
    await waitSent(sys, sink, N);
    const totalMs = performance.now() - t0;
    print(
      `throughput: ${N} queued through the API (50 per request)`,
      `${((N / queuedMs) * 1000).toFixed(0)} accepted/s`,
    );
    print(
      `throughput: first request → last sent committed`,
      `${((N / totalMs) * 1000).toFixed(0)} msg/s (${(totalMs / 1000).toFixed(1)} s)`,
    );
    const cpu1 = await cpuSnapshot(sys, web, workers, sink, pg);
    printCpu('throughput', cpu0, cpu1, N);
    print(`sink: messages received`, String((await sink.count()).received));

    // 2. POST latency at a steady rate (one recipient each), workers sending meanwhile
    const latencies: number[] = [];
    const total = RATE * SECONDS;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(post(address, tenant.apiKey, [`lat${i}@example.org`]).then((ms) => void latencies.push(ms)));
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    print(
      `POST …/outbound at ${RATE}/s for ${SECONDS} s: p50 / p99 / max`,
      `${pct(latencies, 50).toFixed(1)} / ${pct(latencies, 99).toFixed(1)} / ${latencies[latencies.length - 1]!.toFixed(1)} ms`,
    );
    await waitSent(sys, sink, N + total);
    printCpu('latency phase (accept + send)', cpu1, await cpuSnapshot(sys, web, workers, sink, pg), total);

    // 3. worker RSS while LONG more messages are sent
    if (LONG > 0) {
      const base = N + total;
      const marks = [0.2, 0.4, 0.6, 0.8, 1].map((f) => Math.round(base + f * LONG));
      const seen: string[] = [];
      const producing = queue(address, tenant.apiKey, LONG, 'rss');
      let m = 0;
      await waitSent(sys, sink, base + LONG, (sent) => {
        while (m < marks.length && sent >= marks[m]!) {
          seen.push(`${marks[m]}: ${workers.map((w) => rssMb(w.child.pid!).toFixed(0)).join(' + ')} MB`);
          m++;
        }
      });
      await producing;
      for (const line of seen) print('worker RSS after sent', line);
    }
  } finally {
    if (CPU_PROF) {
      for (const w of workers) w.signal('SIGTERM'); // a profile is written on a clean exit only
      await Promise.all(workers.map((w) => w.exited));
    }
    for (const w of workers) await w.stop();
    await web.stop();
    await sys.stop();
    await sink.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
