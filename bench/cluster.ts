// npm run bench:cluster — the same SMTP load on a standalone Redis and on a private 3-master Redis Cluster, with 1 and
// 2 smtp+worker process pairs (one web): messages per second end to end (first byte → every row committed), Redis CPU
// per message on each node (INFO cpu), commands and the peak number of keys on each node. Figures, not a test.
// The system is started and loaded by the code of `npm run bench` (bench/ingest-system.ts: roles as processes;
// bench/ingest-load.ts: the load generator, a process of its own).
// Settings: BENCH_CLUSTER_MESSAGES (per run, default 1500), BENCH_CLUSTER_CONNECTIONS (per smtp process, default 6),
// BENCH_CLUSTER_SHARDS (INBOUND_SHARDS on the cluster, default 6), BENCH_CLUSTER_RUNS (kind:pairs, comma-separated;
// default standalone:1,cluster:1,standalone:2,cluster:2,standalone:1: standalone before and after, so a machine that
// got busier or quieter during the runs shows), BENCH_CLUSTER_DATABASE (default mailwright_bench_cluster).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { shardOf } from '../src/queue/shards.js';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { drive, storedOf } from './ingest-phases.js';
import { freePort, waitFor } from './ingest-procs.js';
import {
  BENCH_DOMAIN,
  createMailboxes,
  machineFacts,
  redisCpuMs,
  startBenchSystem,
  type BenchSettings,
} from './ingest-system.js';

const num = (name: string, d: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
};
const MESSAGES = num('BENCH_CLUSTER_MESSAGES', 1500);
const CONNECTIONS = num('BENCH_CLUSTER_CONNECTIONS', 6);
const SHARDS = num('BENCH_CLUSTER_SHARDS', 6);
const MAILBOXES = 24;
// its own database, never `npm run bench`'s mailwright_bench: the two may run on one machine (not at once, please)
const DATABASE = process.env.BENCH_CLUSTER_DATABASE ?? 'mailwright_bench_cluster';
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = (process.env.BENCH_CLUSTER_RUNS ?? 'standalone:1,cluster:1,standalone:2,cluster:2,standalone:1')
  .split(',')
  .map((r) => {
    const [kind, pairs] = r.trim().split(':');
    if ((kind !== 'standalone' && kind !== 'cluster') || !/^[1-9]\d*$/.test(pairs ?? ''))
      throw new Error(`BENCH_CLUSTER_RUNS: ${JSON.stringify(r)} is not standalone:<pairs> or cluster:<pairs>`);
    return { kind, pairs: Number(pairs) } as const;
  });

interface RedisUnderTest {
  url: string;
  /** one admin connection per master */
  nodes: Redis[];
  stop(): Promise<void>;
}

/** A private standalone redis-server (no persistence, like the cluster's nodes): the same conditions for both. */
async function standalone(): Promise<RedisUnderTest> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const node = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  node.on('error', () => undefined);
  await waitFor('redis', async () => (await node.ping().catch(() => '')) === 'PONG', 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    nodes: [node],
    stop: async () => {
      node.disconnect();
      proc.kill('SIGKILL');
    },
  };
}

async function cluster(): Promise<RedisUnderTest> {
  const c = await startRedisCluster({ masters: 3 });
  return { url: c.url, nodes: (await c.masters()).map((m) => c.admin(m.port)), stop: () => c.stop() };
}

const commandsOf = async (n: Redis) => Number(/^total_commands_processed:(\d+)/m.exec(await n.info('stats'))?.[1] ?? 0);

/**
 * One recipient per load connection, taken in turn from every shard's mailboxes, so that every shard (and every
 * master) gets a fair share: connection i sends all its mail to recipients[i], in order.
 */
function spreadOverShards(addresses: string[], shards: number, connections: number): string[] {
  const byShard = Array.from({ length: shards }, () => [] as string[]);
  // API-created addresses carry no tag: no separator to strip
  for (const a of addresses) byShard[shardOf(a, shards, null)]!.push(a);
  const order: string[] = [];
  for (let round = 0; order.length < addresses.length; round++)
    for (const list of byShard) if (list[round]) order.push(list[round]!);
  return Array.from({ length: connections }, (_, i) => order[i % order.length]!);
}

async function runOne(kind: 'standalone' | 'cluster', pairs: number) {
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const redis = kind === 'cluster' ? await cluster() : await standalone();
    cleanup.push(() => redis.stop());
    const shards = kind === 'cluster' ? SHARDS : 1;
    const settings: BenchSettings = {
      adminUrl: ADMIN_URL,
      redisUrl: redis.url,
      database: DATABASE,
      prefix: 'mwb',
      root: ROOT,
      logDir: mkdtempSync(join(tmpdir(), 'mw-bench-cluster-')),
      env: { INBOUND_SHARDS: String(shards), DATABASE_POOL_MAX: '5' },
      smtpProcesses: pairs,
      workers: pairs,
      maildev: false,
      redisNodes: redis.nodes,
    };
    const sys = await startBenchSystem(settings, cleanup);
    const boxes = (await createMailboxes(sys, MAILBOXES)).map((b) => b.address);
    const connections = CONNECTIONS * pairs;
    const before = await Promise.all(
      redis.nodes.map(async (n) => ({ cpu: await redisCpuMs(n), cmd: await commandsOf(n) })),
    );
    const peakKeys = redis.nodes.map(() => 0);
    const sampler = setInterval(() => {
      redis.nodes.forEach(
        (n, i) =>
          void n.dbsize().then(
            (k) => (peakKeys[i] = Math.max(peakKeys[i]!, k)),
            () => undefined,
          ),
      );
    }, 100);
    cleanup.push(async () => clearInterval(sampler));
    const tag = `${kind}${pairs}`;
    // no commit events here (a cluster publishes with SPUBLISH, which has no pattern subscription): the end is when
    // Postgres holds every accepted message
    const r = await drive(
      {
        host: '127.0.0.1',
        port: sys.smtpPort,
        ports: sys.smtpPorts,
        connections,
        perConnection: Math.ceil(MESSAGES / connections),
        sizeBytes: 1700,
        recipients: spreadOverShards(boxes, shards, connections),
        tag,
        settleMs: 0,
      },
      ROOT,
    );
    let rows = await storedOf(sys.db, tag);
    while (rows < r.accepted) {
      if (Date.now() - r.t0Epoch > 300_000) throw new Error(`only ${rows} of ${r.accepted} stored after 300 s`);
      await new Promise((res) => setTimeout(res, 20));
      rows = await storedOf(sys.db, tag);
    }
    const seconds = (Date.now() - r.t0Epoch) / 1000;
    clearInterval(sampler);
    const after = await Promise.all(
      redis.nodes.map(async (n) => ({ cpu: await redisCpuMs(n), cmd: await commandsOf(n) })),
    );
    const perNode = redis.nodes.map((_, i) => ({
      cpuPerMsg: (after[i]!.cpu - before[i]!.cpu) / rows,
      commands: after[i]!.cmd - before[i]!.cmd,
      peakKeys: peakKeys[i]!,
    }));
    return {
      kind,
      pairs,
      stored: rows,
      refused: r.offered - r.accepted,
      rejected: r.rejected,
      msgPerSec: rows / seconds,
      perNode,
    };
  } finally {
    for (const step of cleanup.reverse())
      await step().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
  }
}

const machine = machineFacts();
console.log(
  `Mailwright cluster benchmark: ${MESSAGES} messages of ~2 KB per run to ${MAILBOXES} mailboxes (@${BENCH_DOMAIN}),` +
    ` ${CONNECTIONS} SMTP connections per smtp process, INBOUND_SHARDS=${SHARDS} on the cluster (1 on standalone),` +
    ` database ${DATABASE}\nmachine: ${machine.nproc} cores (${machine.cpu}), node ${machine.node},` +
    ` load average at start ${machine.loadAvg}`,
);
for (const { kind, pairs } of RUNS) {
  const res = await runOne(kind, pairs);
  const cpu = res.perNode.map((n) => n.cpuPerMsg.toFixed(3)).join(' / ');
  const sumCpu = res.perNode.reduce((a, n) => a + n.cpuPerMsg, 0);
  const load = machineFacts().loadAvg;
  console.log(
    `${kind.padEnd(10)} ${res.pairs} pair(s): ${res.msgPerSec.toFixed(0).padStart(5)} msg/s end to end (${res.stored} stored, ${res.refused} refused${res.rejected.length ? `: ${res.rejected.slice(0, 3).join('; ')}` : ''}); load average after ${load}\n` +
      `           Redis CPU per message by node: ${cpu} ms (sum ${sumCpu.toFixed(3)}, busiest ${Math.max(...res.perNode.map((n) => n.cpuPerMsg)).toFixed(3)})\n` +
      `           commands by node: ${res.perNode.map((n) => n.commands).join(' / ')}; peak keys by node: ${res.perNode.map((n) => n.peakKeys).join(' / ')}`,
  );
}
