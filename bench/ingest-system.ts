import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { quoteIdent } from '../src/store/bootstrap.js';
import { dropPrefix } from '../test/helpers/redis.js';
import {
  cpuMsOf,
  freePort,
  syscallsOf,
  httpOk,
  logContains,
  runToEnd,
  smtpGreets,
  startProc,
  stopProc,
  waitFor,
  type Proc,
} from './ingest-procs.js';

export const BENCH_DOMAIN = 'bench.test';
const TSX = ['--import', 'tsx'];
/** bench/heap-probe.mjs: SIGUSR2 -> full GC -> heap in use, logged (plain JS, so its place among the flags does not matter) */
/** how long a role may take to start (a loaded shared machine took over a minute) */
const START_MS = 180_000;
const HEAP_PROBE = ['--import', './bench/heap-probe.mjs'];

/**
 * What `npm start` runs besides the entry (package.json `scripts.start`: `[NAME=value ...] node [flags] --import tsx
 * src/bin/all.ts`): its environment and node flags, so that BENCH_LAYOUT=all measures the process `npm start` starts
 * (the memory settings of docs/operations.md › memory are there).
 */
export function npmStartCommand(root: string): { env: Record<string, string>; nodeFlags: string[] } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[i]!); i++) {
    const at = words[i]!.indexOf('=');
    env[words[i]!.slice(0, at)] = words[i]!.slice(at + 1);
  }
  if (words[i] !== 'node' || words.at(-1) !== 'src/bin/all.ts')
    throw new Error(`package.json scripts.start is not [NAME=value ...] node ... src/bin/all.ts: ${pkg.scripts.start}`);
  const nodeFlags: string[] = [];
  for (i++; i < words.length - 1; i++) {
    if (words[i] === '--import' && words[i + 1] === 'tsx') i++;
    else nodeFlags.push(words[i]!);
  }
  return { env, nodeFlags };
}

export interface BenchSettings {
  adminUrl: string;
  redisUrl: string;
  database: string;
  prefix: string;
  root: string;
  logDir: string;
  /** extra environment for every role (e.g. INBOUND_SHARDS) */
  env?: Record<string, string>;
  /** smtp processes, each on a port of its own (default 1; BENCH_LAYOUT=all has one) */
  smtpProcesses?: number;
  /** worker processes (default BENCH_WORKERS, else 1) */
  workers?: number;
  /** MailDev beside Mailwright (default true: `npm run bench` compares with it) */
  maildev?: boolean;
  /**
   * Redis connections of the bench's own for `INFO` (Redis CPU per message): one per master of a cluster. Default: one
   * to `redisUrl`. With them, the Redis server is the bench's own (started and stopped by it): no prefix is cleaned.
   */
  redisNodes?: Redis[];
}

/** The system under test: its own database and queue prefix, each role a separate process. */
export interface BenchSystem {
  env: Record<string, string>;
  procs: Proc[];
  /** the first smtp process's port */
  smtpPort: number;
  /** every smtp process's port */
  smtpPorts: number[];
  webUrl: string;
  apiKey: string;
  db: pg.Client;
  /** a connection of the bench's own, for `INFO cpu` (Redis CPU per message): the first of `redisNodes` */
  redis: Redis;
  /** one per Redis server (every master of a cluster) */
  redisNodes: Redis[];
  /** absent with `maildev: false` */
  maildev?: { proc: Proc; smtpPort: number; apiUrl: string };
}

const withAdmin = async <T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>) => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};

export const dbUrl = (s: BenchSettings) => {
  const u = new URL(s.adminUrl);
  u.pathname = `/${s.database}`;
  return u.toString();
};

/** Postgres durability settings and version, as the server reports them. */
export async function postgresFacts(adminUrl: string) {
  return withAdmin(adminUrl, async (c) => {
    const show = async (name: string) => (await c.query(`show ${name}`)).rows[0][name] as string;
    return {
      version: await show('server_version'),
      fsync: await show('fsync'),
      synchronousCommit: await show('synchronous_commit'),
      walSyncMethod: await show('wal_sync_method'),
      fullPageWrites: await show('full_page_writes'),
    };
  });
}

export const machineFacts = () => ({
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memGb: (os.totalmem() / 1024 ** 3).toFixed(1),
  node: process.version,
  loadAvg: os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
  kernel: os.release(),
});

/** Start everything; every started piece is pushed on `cleanup` at once, so a failure half-way still cleans up. */
export async function startBenchSystem(s: BenchSettings, cleanup: Array<() => Promise<void>>): Promise<BenchSystem> {
  // a leftover from a run that was killed hard is dropped first
  await withAdmin(s.adminUrl, (c) => c.query(`drop database if exists ${quoteIdent(s.database)} with (force)`));
  cleanup.push(() =>
    withAdmin(s.adminUrl, (c) => c.query(`drop database if exists ${quoteIdent(s.database)} with (force)`)).then(
      () => undefined,
    ),
  );
  if (!s.redisNodes) cleanup.push(() => dropPrefix(s.prefix, s.redisUrl));

  const layoutAll = process.env.BENCH_LAYOUT === 'all';
  const smtpCount = layoutAll ? 1 : Math.max(1, s.smtpProcesses ?? 1);
  const [port, mdSmtp, mdWeb] = await Promise.all([freePort(), freePort(), freePort()]);
  const smtpPorts = await Promise.all(Array.from({ length: smtpCount }, () => freePort()));
  const smtpPort = smtpPorts[0]!;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl(s),
    REDIS_URL: s.redisUrl,
    QUEUE_PREFIX: s.prefix,
    HOST: '127.0.0.1',
    PORT: String(port),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    MAIL_DOMAINS: BENCH_DOMAIN,
    TOKEN_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    RATE_LIMIT_ENABLED: 'false', // the load generator is one client IP: measure the pipeline, not the limiter
    ...s.env,
  };
  // the release step creates the database, migrates and seeds (src/ops/release.ts)
  await runToEnd([...TSX, 'src/bin/release.ts'], env, s.root, 120_000);
  const cli = await runToEnd(
    [...TSX, 'src/bin/cli.ts', 'users:create', '--plan', 'pro', '--name', 'bench'],
    env,
    s.root,
    60_000,
  );
  const apiKey = cli.trim().split('\n').pop()!.trim();

  const procs: Proc[] = [];
  const stopAll = () => Promise.all(procs.map((p) => stopProc(p))).then(() => undefined);
  cleanup.push(stopAll);
  // BENCH_PROFILE=1: every role writes a V8 CPU profile (.cpuprofile) into the log directory on exit
  // BENCH_NODE_FLAGS: extra node flags for the role processes (e.g. `--trace-gc`; output lands in their logs)
  // --expose-gc: for bench/heap-probe.mjs (HEAP_PROBE), the growth phase's measure of the heap a role keeps
  const profile = [
    '--expose-gc',
    ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${s.logDir}`] : []),
    ...(process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
  ];
  const md =
    s.maildev === false
      ? undefined
      : startProc(
          'maildev',
          [
            'node_modules/maildev/dist/bin/maildev.js',
            '-s',
            String(mdSmtp),
            '-w',
            String(mdWeb),
            '--ip',
            '127.0.0.1',
            '--web-ip',
            '127.0.0.1',
            '--silent',
          ],
          {},
          s.logDir,
          s.root,
        );
  if (md) procs.push(md);
  const webUrl = `http://127.0.0.1:${port}`;
  const apiUrl = `http://127.0.0.1:${mdWeb}`;
  const maildevUp = md ? [waitFor('maildev', httpOk(`${apiUrl}/api/healthz`), START_MS, md)] : [];
  if (layoutAll) {
    // BENCH_LAYOUT=all: every role in one process (`npm start`, the single-machine layout)
    // with npm start's own environment and node flags (BENCH_NODE_FLAGS, after them, can override a flag)
    const start = npmStartCommand(s.root);
    const all = startProc(
      'all',
      [...start.nodeFlags, ...profile, ...TSX, ...HEAP_PROBE, 'src/bin/all.ts'],
      { ...env, ...start.env },
      s.logDir,
      s.root,
    );
    procs.push(all);
    await Promise.all([
      waitFor('all', logContains(all, '"worker.started"'), START_MS, all),
      waitFor('smtp', smtpGreets(smtpPort), START_MS, all),
      waitFor('web', httpOk(`${webUrl}/healthz`), START_MS, all),
      ...maildevUp,
    ]);
  } else {
    // BENCH_WORKERS (or `workers`): worker processes (the role scales out: each is one more Procfile `worker`);
    // `smtpProcesses`: smtp processes likewise, each on its own port
    const workers = Math.max(1, s.workers ?? Number(process.env.BENCH_WORKERS ?? 1));
    const start = (name: string, role: string, extra: Record<string, string> = {}) =>
      procs.push(
        startProc(
          name,
          [...profile, ...TSX, ...HEAP_PROBE, `src/bin/${role}.ts`],
          { ...env, ...extra },
          s.logDir,
          s.root,
        ),
      );
    start('worker', 'worker');
    smtpPorts.forEach((p, i) => start(i ? `smtp${i + 1}` : 'smtp', 'smtp', { SMTP_PORT: String(p) }));
    start('web', 'web');
    for (let i = 2; i <= workers; i++) start(`worker${i}`, 'worker');
    const byName = (name: string) => procs.find((p) => p.name === name)!;
    await Promise.all([
      ...procs
        .filter((p) => p.name.startsWith('worker'))
        .map((w) => waitFor(w.name, logContains(w, '"worker.started"'), START_MS, w)),
      ...smtpPorts.map((p, i) => waitFor('smtp', smtpGreets(p), START_MS, byName(i ? `smtp${i + 1}` : 'smtp'))),
      waitFor('web', httpOk(`${webUrl}/healthz`), START_MS, byName('web')),
      ...maildevUp,
    ]);
  }

  const db = new pg.Client({ connectionString: dbUrl(s) });
  await db.connect();
  cleanup.push(() => db.end());
  const redisNodes = s.redisNodes ?? [new Redis(s.redisUrl, { maxRetriesPerRequest: 1 })];
  if (!s.redisNodes)
    cleanup.push(async () => {
      redisNodes[0]!.disconnect();
    });
  return {
    env,
    procs,
    smtpPort,
    smtpPorts,
    webUrl,
    apiKey,
    db,
    redis: redisNodes[0]!,
    redisNodes,
    ...(md ? { maildev: { proc: md, smtpPort: mdSmtp, apiUrl } } : {}),
  };
}

/** Mailboxes on the pro plan, created through the API like a CI job would; each with its mailbox token. */
export async function createMailboxes(sys: BenchSystem, n: number): Promise<Array<{ address: string; token: string }>> {
  const out: Array<{ address: string; token: string }> = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sys.webUrl}/api/v1/mailboxes?ttl_minutes=120`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sys.apiKey}` },
    });
    if (res.status !== 201) throw new Error(`create mailbox: ${res.status} ${await res.text()}`);
    const { address, token } = (await res.json()) as { address: string; token: string };
    out.push({ address, token });
  }
  return out;
}

/** Read through the API as clients would (list, then one full message per mailbox), so the web role touches stored mail. */
export async function readThroughApi(sys: BenchSystem, addresses: string[]): Promise<void> {
  const headers = { authorization: `Bearer ${sys.apiKey}` };
  for (const a of addresses) {
    const list = (await (
      await fetch(`${sys.webUrl}/api/v1/mailboxes/${a}/messages?limit=200`, { headers })
    ).json()) as Array<{ id: string }>;
    for (const m of list.slice(0, 20))
      await (await fetch(`${sys.webUrl}/api/v1/mailboxes/${a}/messages/${m.id}`, { headers })).arrayBuffer();
  }
}

export { stopProc };

/**
 * CPU ms used so far per process of the system under test: each role, and Postgres as the sum over the
 * backends connected to the bench database, and Redis (`INFO cpu`: counts anyone else using that server too).
 */
export async function cpuSnapshot(sys: BenchSystem): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of sys.procs) out.set(p.name, cpuMsOf(p.pid) ?? 0);
  const r = await sys.db.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  for (const { pid } of r.rows) out.set(`pg:${pid}`, cpuMsOf(pid) ?? 0);
  out.set(
    'redis',
    (await Promise.all(sys.redisNodes.map(redisCpuMs))).reduce((a, b) => a + b, 0),
  );
  for (const p of sys.procs) out.set(`calls:${p.name}`, syscallsOf(p.pid) ?? 0);
  return out;
}

/** worker2, smtp2, …: processes of one role count as the role */
const roleOf = (proc: string) => /^(worker|smtp)\d*$/.exec(proc)?.[1] ?? proc;

/** CPU ms per message between two snapshots, by role (its processes summed); `postgres` sums the backends. */
export function cpuPerMessage(
  before: Map<string, number>,
  after: Map<string, number>,
  messages: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    if (k.startsWith('calls:')) continue;
    const name = k.startsWith('pg:') ? 'postgres' : roleOf(k);
    out[name] = (out[name] ?? 0) + (v - (before.get(k) ?? 0)) / messages;
  }
  return out;
}

/**
 * CPU ms the Redis server has used since it started (`INFO cpu`, user + system of its main process).
 * Redis may serve others too; on a machine of its own the delta over a phase is the system's share.
 */
export async function redisCpuMs(redis: Pick<Redis, 'info'>): Promise<number> {
  const info = await redis.info('cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (read('used_cpu_sys') + read('used_cpu_user')) * 1000;
}

/** Read + write system calls per message between two snapshots, by role process (worker processes summed). */
export function callsPerMessage(
  before: Map<string, number>,
  after: Map<string, number>,
  messages: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    if (!k.startsWith('calls:')) continue;
    const name = roleOf(k.slice(6));
    out[name] = (out[name] ?? 0) + (v - (before.get(k) ?? 0)) / messages;
  }
  return out;
}
