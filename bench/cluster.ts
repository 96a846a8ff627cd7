// npm run bench:cluster — the same SMTP load on a standalone Redis and on a private 3-master Redis Cluster, with 1 and
// 2 smtp+worker process pairs (one web): messages per second end to end (first byte → every row committed), Redis CPU
// per message on each node (INFO cpu), commands and the peak number of keys on each node. Figures, not a test.
// Settings: BENCH_CLUSTER_MESSAGES (default 1500), BENCH_CLUSTER_CONNECTIONS (per smtp process, default 6),
// BENCH_CLUSTER_SHARDS (INBOUND_SHARDS on the cluster, default 6), BENCH_CLUSTER_RUNS (default all four).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { quoteIdent } from '../src/store/bootstrap.js';
import { startRedisCluster, type TestCluster } from '../test/helpers/redis-cluster.js';
import {
  freePort,
  httpOk,
  logContains,
  runToEnd,
  smtpGreets,
  startProc,
  stopProc,
  waitFor,
  type Proc,
} from './ingest-procs.js';
import { bodyOf, LoadSmtpConnection, messageOf } from './ingest-smtp-client.js';

const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
const MESSAGES = num('BENCH_CLUSTER_MESSAGES', 1500);
const CONNECTIONS = num('BENCH_CLUSTER_CONNECTIONS', 6);
const SHARDS = num('BENCH_CLUSTER_SHARDS', 6);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = `mailwright_bench_cluster_${process.pid}`;
const ROOT = process.cwd();
const TSX = ['--import', 'tsx'];

interface RedisUnderTest {
  url: string;
  /** one admin connection per master */
  nodes: Redis[];
  stop(): Promise<void>;
}

async function standalone(): Promise<RedisUnderTest> {
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
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
  const c: TestCluster = await startRedisCluster({ masters: 3 });
  return { url: c.url, nodes: (await c.masters()).map((m) => c.admin(m.port)), stop: () => c.stop() };
}

const withAdmin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};

const nodeStats = async (n: Redis) => {
  const info = await n.info();
  const read = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return { cpuMs: (read('used_cpu_sys') + read('used_cpu_user')) * 1000, commands: read('total_commands_processed') };
};

async function runOne(kind: 'standalone' | 'cluster', pairs: number) {
  const redis = kind === 'cluster' ? await cluster() : await standalone();
  const logDir = mkdtempSync(join(tmpdir(), 'mw-bench-cluster-'));
  const procs: Proc[] = [];
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${DATABASE}`;
  await withAdmin((c) => c.query(`drop database if exists ${quoteIdent(DATABASE)} with (force)`));
  try {
    const webPort = await freePort();
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl.toString(),
      DATABASE_POOL_MAX: '5',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'mwb',
      INBOUND_SHARDS: kind === 'cluster' ? String(SHARDS) : '1',
      HOST: '127.0.0.1',
      PORT: String(webPort),
      SMTP_HOST: '127.0.0.1',
      MAIL_DOMAINS: 'bench.test',
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info',
      RATE_LIMIT_ENABLED: 'false',
    };
    await runToEnd([...TSX, 'src/bin/release.ts'], env, ROOT, 120_000);
    const apiKey = (
      await runToEnd([...TSX, 'src/bin/cli.ts', 'users:create', '--plan', 'pro', '--name', 'b'], env, ROOT, 60_000)
    )
      .trim()
      .split('\n')
      .pop()!
      .trim();
    const smtpPorts: number[] = [];
    procs.push(startProc('web', [...TSX, 'src/bin/web.ts'], env, logDir, ROOT));
    for (let i = 0; i < pairs; i++) {
      const smtpPort = await freePort();
      smtpPorts.push(smtpPort);
      procs.push(
        startProc(`smtp${i}`, [...TSX, 'src/bin/smtp.ts'], { ...env, SMTP_PORT: String(smtpPort) }, logDir, ROOT),
      );
      procs.push(startProc(`worker${i}`, [...TSX, 'src/bin/worker.ts'], env, logDir, ROOT));
    }
    for (const p of procs) {
      if (p.name.startsWith('worker')) await waitFor(p.name, logContains(p, '"worker.started"'), 180_000, p);
      if (p.name === 'web') await waitFor('web', httpOk(`http://127.0.0.1:${webPort}/healthz`), 180_000, p);
    }
    for (const port of smtpPorts) await waitFor('smtp', smtpGreets(port), 180_000, procs[0]);
    const boxes: string[] = [];
    for (let i = 0; i < 24; i++) {
      const r = await fetch(`http://127.0.0.1:${webPort}/api/v1/mailboxes?ttl_minutes=120`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}` },
      });
      boxes.push(((await r.json()) as { address: string }).address);
    }
    const db = new pg.Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const before = await Promise.all(redis.nodes.map(nodeStats));
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
    const body = bodyOf(1700);
    const lanes = CONNECTIONS * pairs;
    const perLane = Math.ceil(MESSAGES / lanes);
    const started = performance.now();
    let refused = 0;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const c = await LoadSmtpConnection.open('127.0.0.1', smtpPorts[lane % pairs]!, 10_000);
        for (let i = 0; i < perLane; i++) {
          const to = boxes[(lane * perLane + i) % boxes.length]!;
          const r = await c.send('load@load.test', to, messageOf('cl', lane, i, to, body), 30_000);
          if (!r.reply.startsWith('250')) refused++;
        }
        await c.quit();
      }),
    );
    const total = lanes * perLane - refused;
    for (;;) {
      const n = Number((await db.query('select count(*)::int as n from messages')).rows[0].n);
      if (n >= total) break;
      if (performance.now() - started > 300_000) throw new Error(`only ${n} of ${total} stored`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const after = await Promise.all(redis.nodes.map(nodeStats));
    await db.end();
    const perNode = redis.nodes.map((_, i) => ({
      cpuPerMsg: (after[i]!.cpuMs - before[i]!.cpuMs) / total,
      commands: after[i]!.commands - before[i]!.commands,
      peakKeys: peakKeys[i]!,
    }));
    return { kind, pairs, total, refused, msgPerSec: total / seconds, perNode };
  } finally {
    await Promise.all(procs.map((p) => stopProc(p)));
    await redis.stop();
    await withAdmin((c) => c.query(`drop database if exists ${quoteIdent(DATABASE)} with (force)`));
  }
}

const runs = (process.env.BENCH_CLUSTER_RUNS ?? 'standalone:1,cluster:1,standalone:2,cluster:2').split(',');
console.log(
  `Mailwright cluster benchmark: ${MESSAGES} messages of ~2 KB, ${CONNECTIONS} SMTP connections per smtp process,` +
    ` INBOUND_SHARDS=${SHARDS} on the cluster (1 on standalone), 24 mailboxes; shared 2-core machine: noisy`,
);
for (const r of runs) {
  const [kind, pairs] = r.split(':') as ['standalone' | 'cluster', string];
  const res = await runOne(kind, Number(pairs));
  const cpu = res.perNode.map((n) => n.cpuPerMsg.toFixed(3)).join(' / ');
  const sumCpu = res.perNode.reduce((a, n) => a + n.cpuPerMsg, 0);
  console.log(
    `${kind.padEnd(10)} ${res.pairs} pair(s): ${res.msgPerSec.toFixed(0).padStart(5)} msg/s end to end (${res.total} stored, ${res.refused} refused)\n` +
      `           Redis CPU per message by node: ${cpu} ms (sum ${sumCpu.toFixed(3)}, busiest ${Math.max(...res.perNode.map((n) => n.cpuPerMsg)).toFixed(3)})\n` +
      `           commands by node: ${res.perNode.map((n) => n.commands).join(' / ')}; peak keys by node: ${res.perNode.map((n) => n.peakKeys).join(' / ')}`,
  );
}
