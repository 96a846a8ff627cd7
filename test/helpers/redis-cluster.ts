import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** A port that is free, with its cluster bus port (port + 10000) free too. */
async function freePort(): Promise<number> {
  const probe = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  for (;;) {
    const p = await probe(0);
    if (p > 55_000) continue;
    if (
      await probe(p + 10_000).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
}

export interface ClusterNode {
  port: number;
  id: string;
  proc: ChildProcess;
}

export interface TestCluster {
  /** REDIS_URL for Mailwright: redis+cluster://127.0.0.1:p1,127.0.0.1:p2,… */
  url: string;
  nodes: ClusterNode[];
  /** a plain client on one node (admin commands) */
  admin(port: number): Redis;
  /** the node currently owning `slot` as master */
  ownerOf(slot: number): Promise<ClusterNode>;
  masters(): Promise<ClusterNode[]>;
  /** the replica of a master (needs replicas) */
  replicaOf(master: ClusterNode): Promise<ClusterNode>;
  /** start moving a slot (IMPORTING/MIGRATING), move its keys in batches, then hand it over; `pauseMs` between batches */
  migrateSlot(slot: number, to: ClusterNode, opts?: { pauseMs?: number; batch?: number }): Promise<number>;
  /** CLUSTER FAILOVER on the replica of the master owning `slot`: a coordinated failover (no acknowledged write lost) */
  failover(slot: number): Promise<{ from: ClusterNode; to: ClusterNode }>;
  stop(): Promise<void>;
}

const waitFor = async (what: string, fn: () => Promise<boolean>, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`redis cluster: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * A private Redis Cluster on loopback: `masters` × (1 + `replicas`) `redis-server --cluster-enabled yes` in a temp
 * dir on free ports, joined by `redis-cli --cluster create`. Memory only (no RDB, no AOF): a test cluster.
 */
export async function startRedisCluster(opts: { masters?: number; replicas?: number } = {}): Promise<TestCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const dir = await mkdtemp(join(tmpdir(), 'mw-cluster-'));
  const nodes: ClusterNode[] = [];
  const clients = new Map<number, Redis>();
  const admin = (port: number) => {
    let c = clients.get(port);
    if (!c) {
      c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false });
      c.on('error', () => undefined);
      clients.set(port, c);
    }
    return c;
  };
  const stop = async () => {
    for (const c of clients.values()) c.disconnect();
    for (const n of nodes) n.proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, id: '', proc });
    }
    for (const n of nodes) await waitFor(`node ${n.port} up`, async () => (await admin(n.port).ping()) === 'PONG');
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    for (const n of nodes) {
      n.id = (await admin(n.port).call('CLUSTER', 'MYID')) as string;
      await waitFor(`node ${n.port} cluster_state:ok`, async () =>
        /cluster_state:ok/.test((await admin(n.port).call('CLUSTER', 'INFO')) as string),
      );
    }
    // every node agrees on every other one (replicas attached) before a test starts
    await waitFor('all nodes known everywhere', async () => {
      for (const n of nodes) {
        const lines = ((await admin(n.port).call('CLUSTER', 'NODES')) as string).trim().split('\n');
        const flags = lines.map((l) => l.split(' ')[2]!);
        if (lines.length !== nodes.length || flags.some((f) => /handshake|noaddr|fail/.test(f))) return false;
        if (flags.filter((f) => f.includes('slave')).length !== masters * replicas) return false;
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const byId = (id: string) => nodes.find((n) => n.id === id)!;
  const nodesView = async () =>
    ((await admin(nodes[0]!.port).call('CLUSTER', 'NODES')) as string)
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
  const ownerOf = async (slot: number) => {
    for (const n of nodes) {
      // each node's own view of itself is authoritative for the slots it serves
      const me = ((await admin(n.port).call('CLUSTER', 'NODES')) as string)
        .split('\n')
        .find((l) => l.includes('myself'))!
        .split(' ');
      if (!me[2]!.includes('master')) continue;
      for (const r of me.slice(8)) {
        if (r.startsWith('[')) continue;
        const [a, b = a] = r.split('-').map(Number) as [number, number?];
        if (slot >= a && slot <= b) return n;
      }
    }
    throw new Error(`slot ${slot}: no owner`);
  };
  const mastersNow = async () => (await nodesView()).filter((f) => f[2]!.includes('master')).map((f) => byId(f[0]!));
  const replicaOf = async (master: ClusterNode) => {
    const f = (await nodesView()).find((x) => x[2]!.includes('slave') && x[3] === master.id);
    if (!f) throw new Error(`no replica of ${master.port}`);
    return byId(f[0]!);
  };
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    admin,
    ownerOf,
    masters: mastersNow,
    replicaOf,
    async migrateSlot(slot, to, { pauseMs = 0, batch = 10 } = {}) {
      const from = await ownerOf(slot);
      if (from === to) throw new Error('slot already there');
      const src = admin(from.port);
      const dst = admin(to.port);
      await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
      await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
      let moved = 0;
      for (;;) {
        const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
        if (!keys.length) break;
        await src.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
        moved += keys.length;
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
      // hand over: the target first, then the source, then every other master learns it
      await dst.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      await src.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      for (const m of await mastersNow())
        if (m !== from && m !== to) await admin(m.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      return moved;
    },
    async failover(slot) {
      const from = await ownerOf(slot);
      const to = await replicaOf(from);
      await admin(to.port).call('CLUSTER', 'FAILOVER');
      await waitFor(`replica ${to.port} promoted`, async () => (await ownerOf(slot)) === to);
      return { from, to };
    },
    stop,
  };
}

/** The hash slot of a key (CRC16 of its hash tag, or of the whole key), as Redis computes it. */
export async function slotOf(redis: Redis, key: string): Promise<number> {
  return (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
}
