// node --import tsx bench/worker-probe.ts [messages]: the delivery worker alone, without SMTP noise.
// Fills the inbound queue with N 2 KB jobs for 10 mailboxes (no worker running), then starts the worker
// role in this process and times the drain: wall ms, msg/s, and CPU ms per message of this process
// (the worker) and of the Postgres backends of its database, plus commits per message (group commit).
// Uses its own database and Redis prefix (test helpers); honours WORKER_CONCURRENCY, DELIVERY_BATCH_* etc.
// PROBE_CPU_PROFILE=<file> writes a V8 CPU profile of the drain alone (summarise: bench/ingest-profile-top.ts).
// PROBE_HEAP_PROFILE=1 prints where the drain allocates: sampled bytes by function, collected garbage included
// (PROBE_HEAP_PROFILE=<file.heapprofile> also writes the sampled profile, for Chrome DevTools).
// PROBE_BODY_LINES (default 24, about 2 KB per message) sets the size: 78-byte lines.
// PROBE_PRESET=html|related|pdf|mix|text sends the benchmark's preset mail (bench/ingest-mail.ts) instead.
// PROBE_THREADS=<n> drains with n delivery threads as `npm start` runs them (src/roles/worker-thread.ts,
// WORKER_THREADS) instead of the worker role on this thread; CPU is then the whole process's (every thread).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { createContainer } from '../src/container.js';
import { loadConfig } from '../src/core/config.js';
import { enqueueInbound } from '../src/ingress/enqueue.js';
import { startWorker } from '../src/roles/worker.js';
import { startWorkerThreads } from '../src/roles/worker-thread.js';
import { createTestDatabase } from '../test/helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../test/helpers/redis.js';
import { parsePresets } from './ingest-presets.js';
import { presetAt, presetMessage } from './ingest-mail.js';
import { cpuMsOfAll } from './ingest-procs.js';
import { redisCpuMs } from './ingest-system.js';

const n = Number(process.argv[2] ?? 3000);
const database = await createTestDatabase();
const prefix = uniquePrefix();
const probeEnv = {
  NODE_ENV: 'production',
  DATABASE_URL: database.url,
  REDIS_URL: TEST_REDIS_URL,
  QUEUE_PREFIX: prefix,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  MAIL_DOMAINS: 'probe.test',
  MAINTENANCE_WORKER: 'false',
};
// delivery threads read their configuration from the environment they inherit
if (process.env.PROBE_THREADS) Object.assign(process.env, probeEnv);
const config = loadConfig({ ...process.env, ...probeEnv });
const deps = await createContainer(config, 'worker');
const admin = new pg.Client({ connectionString: database.url });
await admin.connect();
try {
  const boxes = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      deps.stores.mailboxes.create({
        address: `box${i}@probe.test`,
        ownerUserId: null,
        planId: 'pro',
        ttlMs: 3_600_000,
      }),
    ),
  );
  const body = 'x'.repeat(76) + '\r\n';
  // PROBE_ENQUEUE_BATCH: jobs enqueued at once while filling (fewer for large presets on a loaded machine)
  const fill = Number(process.env.PROBE_ENQUEUE_BATCH ?? 100);
  for (let i = 0; i < n; i += fill) {
    await Promise.all(
      Array.from({ length: Math.min(fill, n - i) }, (_, j) => {
        const to = boxes[(i + j) % boxes.length]!.address;
        const [preset] = process.env.PROBE_PRESET ? parsePresets(process.env.PROBE_PRESET, []) : [];
        const raw = preset
          ? presetMessage(presetAt(preset, i + j), 'probe', 0, i + j, to)
          : Buffer.from(
              `From: Probe <probe@example.org>\r\nTo: ${to}\r\nSubject: probe ${i + j}\r\nMessage-ID: <${randomBytes(8).toString('hex')}@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body.repeat(Number(process.env.PROBE_BODY_LINES ?? 24))}`,
            );
        return enqueueInbound(
          deps.queues,
          { source: 'smtp', envelope: { from: 'probe@example.org', to: [to] }, raw },
          5_000,
        );
      }),
    );
  }
  const backends = async () =>
    (
      await admin.query<{ pid: number }>(
        'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      )
    ).rows.map((r) => r.pid);
  const commits = async () =>
    Number(
      (
        await admin.query<{ c: string }>(
          'select xact_commit::text as c from pg_stat_database where datname = current_database()',
        )
      ).rows[0]!.c,
    );
  const c0 = await commits();
  const redis0 = await redisCpuMs(deps.redis);
  const cpu0 = process.cpuUsage();
  // PROBE_CPU_PROFILE=<file>: a V8 CPU profile of the drain only (not of filling the queue)
  const profiler = process.env.PROBE_CPU_PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const heap = process.env.PROBE_HEAP_PROFILE ? new Session() : undefined;
  if (heap) {
    heap.connect();
    await heap.post('HeapProfiler.enable');
    await heap.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const t0 = performance.now();
  const worker = process.env.PROBE_THREADS
    ? await startWorkerThreads(
        deps.log,
        5_000,
        new URL('../src/bin/worker-thread.mjs', import.meta.url),
        Number(process.env.PROBE_THREADS),
      )
    : await startWorker(deps);
  const pg0 = cpuMsOfAll(await backends());
  const stored = () =>
    deps
      .db('messages')
      .count<{ n: string }[]>({ n: '*' })
      .then((r) => Number(r[0]!.n));
  const rss: number[] = []; // MB, each time another tenth of the messages is stored (memory flatness)
  for (let done = 0; done < n; done = await stored()) {
    if (done >= ((rss.length + 1) * n) / 10) rss.push(Math.round(process.memoryUsage().rss / 1e6));
    for (const pid of await backends()) if (!pg0.has(pid)) pg0.set(pid, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(process.env.PROBE_CPU_PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
  }
  if (heap) {
    const { profile } = await heap.post('HeapProfiler.stopSampling');
    heap.disconnect();
    if (process.env.PROBE_HEAP_PROFILE !== '1') writeFileSync(process.env.PROBE_HEAP_PROFILE!, JSON.stringify(profile));
    printAllocations(profile, n);
  }
  const pgCpu = [...cpuMsOfAll([...pg0.keys()])].reduce((a, [pid, ms]) => a + ms - pg0.get(pid)!, 0);
  const c1 = await commits();
  const redisCpu = (await redisCpuMs(deps.redis)) - redis0;
  console.error(
    JSON.stringify({
      messages: n,
      wallMs: Math.round(ms),
      msgPerS: Math.round((n / ms) * 1000),
      workerCpuMsPerMsg: +((cpu.user + cpu.system) / 1000 / n).toFixed(3),
      postgresCpuMsPerMsg: +(pgCpu / n).toFixed(3),
      redisCpuMsPerMsg: +(redisCpu / n).toFixed(3),
      commitsPerMsg: +((c1 - c0) / n).toFixed(3),
      threads: process.env.PROBE_THREADS ? Number(process.env.PROBE_THREADS) : 'none (this thread)',
      concurrency: config.worker.concurrency,
      batch: config.worker.batch,
      rssMbPerTenth: rss,
    }),
  );
  await worker.close();
} finally {
  await admin.end();
  await deps.close();
  await dropPrefix(prefix);
  await database.drop();
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
/** Sampled allocation (bytes per message) by function and by package, largest first. */
function printAllocations(profile: { head: HeapNode }, messages: number) {
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  const walk = (node: HeapNode) => {
    const f = node.callFrame;
    const where = f.url
      .replace(/^file:\/\//, '')
      .replace(/.*node_modules\//, 'nm:')
      .replace(/^\/work\/[^/]+\//, '');
    const key = `${f.functionName || '(anon)'} ${where}:${f.lineNumber}`;
    byFn.set(key, (byFn.get(key) ?? 0) + node.selfSize);
    const pkg = where.startsWith('nm:')
      ? where.slice(3).split('/')[0]!
      : where.split('/').slice(0, 2).join('/') || f.functionName;
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, b]) => `${(b / messages / 1024).toFixed(2).padStart(7)} KB/msg  ${name}`)
      .join('\n');
  console.error(
    `allocated (sampled) ${(total / messages / 1024).toFixed(1)} KB per message\n--- by package ---\n${top(byPkg, 15)}\n--- by function ---\n${top(byFn, 40)}`,
  );
}
