// npm run bench — SMTP ingest benchmark of Mailwright (durable, every role a separate process) against
// MailDev (in memory), in one run on the same machine. See docs/benchmarks/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { redisDb } from '../src/core/config.js';
import { QUEUE } from '../src/queue/names.js';
import { channelNamespace, mailboxChannelPattern } from '../src/pubsub/events.js';
import type { LoadSpec } from './ingest-load.js';
import {
  cpuTotal,
  maildevPhase,
  mailwrightPhase,
  showCpu,
  showPhase,
  storedTotal,
  type PhaseOutcome,
} from './ingest-phases.js';
import { PRESETS } from './ingest-mail.js';
import { parsePresets, presetSummary, runPresets, type PresetRun } from './ingest-presets.js';
import { heapAfterGc, rssSampler } from './ingest-procs.js';
import { fmt, mb, median } from './ingest-stats.js';
import {
  callsPerMessage,
  cpuPerMessage,
  cpuSnapshot,
  createMailboxes,
  machineFacts,
  postgresFacts,
  readThroughApi,
  startBenchSystem,
  type BenchSettings,
} from './ingest-system.js';

const num = (name: string, def: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${JSON.stringify(v)})`);
  return n;
};

const B = {
  connections: num('BENCH_CONNECTIONS', 10),
  perConnection: num('BENCH_PER_CONNECTION', 100),
  size: num('BENCH_SIZE', 2048),
  largeSize: num('BENCH_LARGE_SIZE', 50 * 1024),
  largePerConnection: num('BENCH_LARGE_PER_CONNECTION', 20),
  repeats: num('BENCH_REPEATS', 5),
  rate: num('BENCH_RATE', 200),
  rateSeconds: num('BENCH_RATE_SECONDS', 10),
  // 0 (no lead-in) is allowed here, unlike the settings above
  rateLeadInSeconds: process.env.BENCH_RATE_LEAD_IN_SECONDS === '0' ? 0 : num('BENCH_RATE_LEAD_IN_SECONDS', 2),
  // 300 x 10 = 3,000 messages: a server that has been up for a while is JIT-compiled; with 300 messages the
  // rounds kept getting faster one after the other (each role process and MailDev warm up on their own)
  warmup: num('BENCH_WARMUP_PER_CONNECTION', 300),
  // 10,000 per half: with 2,500 (about a second each) the worker's first half, which follows the low-rate latency
  // phase, often ended before its heap had grown back to its plateau, and the halves compared GC timing, not
  // stored mail (the runs that showed it: docs/benchmarks/2026-12-02.md)
  growth: num('BENCH_GROWTH', 10000),
  // the presets phase (realistic mail, end to end to the WebSocket push, MailDev beside each): bench/ingest-presets.ts
  presets: parsePresets(process.env.BENCH_PRESETS, PRESETS),
  presetRepeats: num('BENCH_PRESET_REPEATS', 2),
  presetPerConnection: process.env.BENCH_PRESET_PER_CONNECTION ? num('BENCH_PRESET_PER_CONNECTION', 100) : undefined,
  presetLatency: parsePresets(process.env.BENCH_PRESET_LATENCY, ['text', 'html']),
};
const ALL_PHASES = ['throughput', 'large', 'presets', 'latency', 'growth'];
/** BENCH_PHASES: a subset of `throughput,large,presets,latency,growth` (default: all; the summary shows what ran) */
const PHASES = new Set((process.env.BENCH_PHASES ?? ALL_PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of PHASES) if (!ALL_PHASES.includes(p)) throw new Error(`BENCH_PHASES: unknown phase ${p}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const settings: BenchSettings = {
  adminUrl: process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  database: process.env.BENCH_DATABASE ?? 'mailwright_bench',
  prefix: `mwbench${process.pid}`,
  root,
  logDir: mkdtempSync(join(tmpdir(), 'mailwright-bench-')),
};

const cleanup: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | undefined;
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const step of cleanup.reverse())
      await step().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
  })());
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

const log = (s: string) => console.log(s);

async function main() {
  const machine = machineFacts();
  const pgFacts = await postgresFacts(settings.adminUrl);
  log(
    `machine: ${machine.nproc} cores (${machine.cpu}), ${machine.memGb} GB, node ${machine.node}, load average at start ${machine.loadAvg}`,
  );
  log(
    `postgres ${pgFacts.version}: fsync=${pgFacts.fsync} synchronous_commit=${pgFacts.synchronousCommit} wal_sync_method=${pgFacts.walSyncMethod} full_page_writes=${pgFacts.fullPageWrites}`,
  );
  log(`logs of every process: ${settings.logDir}`);

  const sys = await startBenchSystem(settings, cleanup);
  const maildev = sys.maildev;
  if (!maildev) throw new Error('MailDev did not start'); // started by default
  const roles = sys.procs.filter((p) => p.name !== 'maildev');
  const mem = rssSampler(sys.procs);
  cleanup.push(async () => mem.stop());
  const created = await createMailboxes(sys, B.connections);
  const boxes = created.map((b) => b.address);
  const watch = {
    redisUrl: settings.redisUrl,
    pattern: mailboxChannelPattern(channelNamespace({ prefix: settings.prefix, db: redisDb(settings.redisUrl) ?? 0 })),
  };
  let n = 0;
  const spec = (perConnection: number, size: number, extra: Partial<LoadSpec> = {}): LoadSpec => ({
    host: '127.0.0.1',
    port: sys.smtpPort,
    connections: B.connections,
    perConnection,
    sizeBytes: size,
    recipients: boxes,
    tag: `p${++n}`,
    settleMs: 30_000,
    ...extra,
  });
  const ctx = { root, db: sys.db, cpuSnapshot: () => cpuSnapshot(sys), cpuPerMessage, callsPerMessage };
  const mw = (name: string, s: LoadSpec) => mailwrightPhase(name, { ...s, watch }, ctx);
  let mdTotal = 0;
  const md = async (name: string, s: LoadSpec) => {
    const r = await maildevPhase(name, { ...s, port: maildev.smtpPort }, ctx, maildev.apiUrl, mdTotal);
    mdTotal = r.total;
    return r;
  };
  const show = (p: PhaseOutcome) => {
    log(showPhase(p));
    return p;
  };

  log(`\nwarm-up (${B.connections} x ${B.warmup}, not counted)`);
  show(await mw('warm-up', spec(B.warmup, B.size)));
  show(await md('warm-up', spec(B.warmup, B.size)));

  log(
    `\nthroughput: ${B.size} B messages, ${B.connections} connections x ${B.perConnection}, ${B.repeats} rounds, Mailwright and MailDev alternating`,
  );
  const mwRuns: PhaseOutcome[] = [];
  const mdRuns: PhaseOutcome[] = [];
  for (let i = 1; PHASES.has('throughput') && i <= B.repeats; i++) {
    mwRuns.push(show(await mw(`throughput #${i}`, spec(B.perConnection, B.size))));
    mdRuns.push(show(await md(`throughput #${i}`, spec(B.perConnection, B.size))));
  }

  const ran = <T>(phase: string, run: () => Promise<T>) => (PHASES.has(phase) ? run() : Promise.resolve(undefined));
  if (PHASES.has('large'))
    log(`\nlarge: ${B.largeSize} B messages, ${B.connections} connections x ${B.largePerConnection}`);
  const mwLarge = await ran('large', async () => show(await mw('large', spec(B.largePerConnection, B.largeSize))));
  const mdLarge = await ran('large', async () => show(await md('large', spec(B.largePerConnection, B.largeSize))));

  const presetRuns: PresetRun[] | undefined = await ran('presets', () =>
    runPresets(
      {
        presets: B.presets,
        repeats: B.presetRepeats,
        perConnection: B.presetPerConnection,
        latency: B.presetLatency,
        rate: B.rate,
        rateSeconds: B.rateSeconds,
        rateLeadInSeconds: B.rateLeadInSeconds,
        connections: B.connections,
      },
      {
        spec,
        mw,
        md,
        show,
        mwPush: { kind: 'mailwright', base: sys.webUrl, tokens: created.map((b) => b.token) },
        mdPush: { kind: 'maildev', apiUrl: maildev.apiUrl },
        queue: { redisUrl: settings.redisUrl, key: `${settings.prefix}:${QUEUE.inbound}:wait` },
        windowPeaks: mem.windowPeaks,
        log,
      },
    ),
  );

  const ratePer = Math.ceil((B.rate * B.rateSeconds) / B.connections);
  if (PHASES.has('latency'))
    log(
      `\nfixed offered rate: ${B.rate} msg/s for ${B.rateSeconds} s after a ${B.rateLeadInSeconds} s lead-in at the same rate that is not measured (${B.size} B, ${B.connections} connections)`,
    );
  const leadInPer = Math.ceil((B.rate * B.rateLeadInSeconds) / B.connections);
  const mwRate = await ran('latency', async () =>
    show(
      await mw(
        `${B.rate} msg/s offered`,
        spec(ratePer, B.size, { ratePerSec: B.rate, leadInPerConnection: leadInPer }),
      ),
    ),
  );

  // memory flatness while stored mail grows by G messages, then by G more (same load both times; the API reads
  // every mailbox after each half so the web role touches stored mail): the highest RSS of each role in each half,
  // and the heap each role still holds after a forced full GC at the start and after each half (bench/heap-probe.mjs)
  const growthPer = Math.ceil(B.growth / B.connections);
  const heaps = async () => new Map(await Promise.all(roles.map(async (p) => [p.name, await heapAfterGc(p)] as const)));
  const growthRun = await ran('growth', async () => {
    const heap0 = await heaps();
    mem.windowPeaks();
    log(`\ngrowth: two halves of ${growthPer * B.connections} messages each`);
    const g1 = show(await mw('growth, first half', spec(growthPer, B.size)));
    await readThroughApi(sys, boxes);
    const storedA = await storedTotal(sys.db);
    const rssA = mem.windowPeaks();
    const heapA = await heaps();
    const g2 = show(await mw('growth, second half', spec(growthPer, B.size)));
    await readThroughApi(sys, boxes);
    const storedB = await storedTotal(sys.db);
    const rssB = mem.windowPeaks();
    const heapB = await heaps();
    return { g1, g2, storedA, storedB, rssA, rssB, heap0, heapA, heapB };
  });

  const rates = mwRuns.map((r) => r.rate);
  const mdRates = mdRuns.map((r) => r.rate);
  const best = Math.max(...rates);
  const mdBest = Math.max(...mdRates);
  const p99 = mwRate?.commit?.p99 ?? NaN;
  const change = (a: number, b: number) => ((b - a) / a) * 100;
  const growth = (name: string) => (growthRun ? change(growthRun.rssA.get(name)!, growthRun.rssB.get(name)!) : NaN);
  const heapGrowth = (name: string) => {
    const [a, b] = [growthRun?.heapA.get(name), growthRun?.heapB.get(name)];
    return a !== undefined && b !== undefined ? change(a, b) : undefined;
  };
  // flat: the heap a role keeps after a full GC grows < 20 % while stored mail grows by the second half (RSS where
  // a role has no probe). Peak RSS is printed too, but it mostly tells when V8 last collected.
  const flat = roles.every((p) => (heapGrowth(p.name) ?? growth(p.name)) < 20);
  const presetPhases = (presetRuns ?? []).flatMap((r) => [
    ...r.mailwright,
    ...r.maildev,
    ...(r.latency ? [r.latency.mailwright, r.latency.maildev] : []),
  ]);
  const phases = [...mwRuns, ...mdRuns, mwLarge, mdLarge, ...presetPhases, mwRate, growthRun?.g1, growthRun?.g2].filter(
    (p): p is PhaseOutcome => p !== undefined,
  );
  const problems = phases.flatMap((p) => p.problems.map((x) => `${p.system} ${p.name}: ${x}`));

  log('\n================ Mailwright ingest benchmark: summary ================');
  log(
    `machine             ${machine.nproc} cores, node ${machine.node}, Postgres ${pgFacts.version} fsync=${pgFacts.fsync} synchronous_commit=${pgFacts.synchronousCommit}`,
  );
  log(
    `load                ${B.connections} connections x ${B.perConnection} messages of ${B.size} B, ${B.repeats} rounds, ${process.env.BENCH_PIPELINING === '1' ? 'pipelined (BENCH_PIPELINING=1)' : 'one command per reply'} (shared machine: noisy)`,
  );
  if (mwRuns.length) {
    log(
      `Mailwright          ${fmt(best, 0)} msg/s best, ${fmt(median(rates), 0)} median (first byte -> row committed)   target >= 1200: ${best >= 1200 ? 'MET' : 'NOT MET'}`,
    );
    log(
      `MailDev             ${fmt(mdBest, 0)} msg/s best, ${fmt(median(mdRates), 0)} median (first byte -> last 250, in memory)`,
    );
    log(
      `ratio               ${fmt(best / mdBest, 2)}x best/best, ${fmt(median(rates) / median(mdRates), 2)}x median/median (Mailwright / MailDev)`,
    );
    const cpuMw = mwRuns.reduce((a, b) => (cpuTotal(a) <= cpuTotal(b) ? a : b));
    const cpuMd = mdRuns.reduce((a, b) => (cpuTotal(a) <= cpuTotal(b) ? a : b));
    const cores = machine.nproc * 1000;
    log(`CPU per message     Mailwright ${showCpu(cpuMw)}`);
    log(`                    MailDev    ${showCpu(cpuMd)}`);
    log(
      `CPU-bound estimate  on ${machine.nproc} otherwise idle cores (Redis counted): Mailwright ~${fmt(cores / cpuTotal(cpuMw), 0)} msg/s, MailDev ~${fmt(cores / cpuTotal(cpuMd), 0)} msg/s`,
    );
  }
  if (mwLarge && mdLarge)
    log(
      `${B.largeSize} B messages     Mailwright ${fmt(mwLarge.rate, 0)} msg/s, MailDev ${fmt(mdLarge.rate, 0)} msg/s`,
    );
  if (mwRate)
    log(
      `latency @${B.rate}/s      end of DATA -> committed p50 ${fmt(mwRate.commit?.p50 ?? NaN)} ms, p95 ${fmt(mwRate.commit?.p95 ?? NaN)} ms, p99 ${fmt(p99)} ms   target p99 <= 20 ms: ${p99 <= 20 ? 'MET' : 'NOT MET'}`,
    );
  if (presetRuns) for (const line of presetSummary(presetRuns, B.rate)) log(`presets             ${line}`);
  log(`peak RSS (VmHWM)    ${sys.procs.map((p) => `${p.name} ${mb(mem.peakKb(p.name))}`).join(', ')}`);
  if (growthRun) {
    const { storedA, storedB, rssA, rssB, heap0, heapA, heapB } = growthRun;
    const pct = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v)}%`;
    const mbOf = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${fmt(bytes / 1024 / 1024)} MB`);
    const storedFrom = storedA - growthPer * B.connections;
    log(
      `peak RSS while     ${storedFrom}->${storedA} stored vs ${storedA}->${storedB}: ${roles.map((p) => `${p.name} ${mb(rssA.get(p.name)!)} -> ${mb(rssB.get(p.name)!)} (${pct(growth(p.name))})`).join(', ')}`,
    );
    const perMessage = (name: string) => {
      const [a, b] = [heapA.get(name), heapB.get(name)];
      return a === undefined || b === undefined
        ? ''
        : `, ${fmt((b - a) / (storedB - storedA), 0)} B per stored message`;
    };
    log(
      `heap after full GC at ${storedFrom} / ${storedA} / ${storedB} stored: ${roles
        .map((p) => {
          const g = heapGrowth(p.name);
          return `${p.name} ${mbOf(heap0.get(p.name))} / ${mbOf(heapA.get(p.name))} / ${mbOf(heapB.get(p.name))}${g === undefined ? ' (judged by RSS)' : ` (${pct(g)}${perMessage(p.name)})`}`;
        })
        .join(', ')}   flat (<20% growth): ${flat ? 'yes' : 'NO'}`,
    );
  }
  log(`problems            ${problems.length ? problems.join('; ') : 'none'}`);
  // BENCH_JSON=<file>: every phase's figures as JSON (the dated benchmark pages keep one beside them)
  if (process.env.BENCH_JSON)
    writeFileSync(
      process.env.BENCH_JSON,
      JSON.stringify(
        {
          machine,
          postgres: pgFacts,
          layout: process.env.BENCH_LAYOUT ?? 'separate',
          settings: B,
          phases: [...mwRuns, ...mdRuns, mwLarge, mdLarge, mwRate],
          presets: presetRuns,
          peakRssMb: Object.fromEntries(sys.procs.map((p) => [p.name, Math.round(mem.peakKb(p.name) / 1024)])),
          problems,
        },
        null,
        2,
      ),
    );
  log('======================================================================');
  return problems.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}\nprocess logs: ${settings.logDir}`);
} finally {
  await cleanUp();
}
if (code === 0 && !process.env.BENCH_PROFILE && !process.env.BENCH_NODE_FLAGS)
  rmSync(settings.logDir, { recursive: true, force: true });
process.exit(code);
