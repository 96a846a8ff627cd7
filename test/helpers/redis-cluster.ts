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
  /** false between `kill` and `restart` */
  up: boolean;
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
  /**
   * A reshard stopped half-way through its hand-over: every key of `slot` moved to `to` and the source told that `to`
   * owns the slot, but `to` still importing (it was never told). Each node sends clients to the other: MOVED both ways,
   * for as long as it lasts (nobody claims the slot, so gossip does not settle it). `finish()` completes the hand-over.
   */
  splitSlot(slot: number, to: ClusterNode): Promise<{ from: ClusterNode; finish(): Promise<void> }>;
  /** CLUSTER FAILOVER on the replica of the master owning `slot`: a coordinated failover (no acknowledged write lost) */
  failover(slot: number): Promise<{ from: ClusterNode; to: ClusterNode }>;
  /** SIGKILL a node (a crash: no failover handshake); the cluster notices after its node timeout (2 s) */
  kill(node: ClusterNode): Promise<void>;
  /** start a killed node again on its port with its nodes.conf (memory only: it comes back empty) */
  restart(node: ClusterNode): Promise<void>;
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
  // its nodes-<port>.conf in `dir` is how a restarted node finds its cluster again (its slots, or its new master)
  const spawnNode = (port: number) =>
    spawn(
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
        // a replica's first sync starts at once (Redis 7 waits 5 s for more replicas to share a diskless transfer)
        '--repl-diskless-sync-delay',
        '0',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
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
      const proc = spawnNode(port);
      nodes.push({ port, id: '', proc, up: true });
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
    await waitFor(
      'all nodes known everywhere',
      async () => {
        for (const n of nodes) {
          const lines = ((await admin(n.port).call('CLUSTER', 'NODES')) as string).trim().split('\n');
          const flags = lines.map((l) => l.split(' ')[2]!);
          if (lines.length !== nodes.length || flags.some((f) => /handshake|noaddr|fail/.test(f))) return false;
          if (flags.filter((f) => f.includes('slave')).length !== masters * replicas) return false;
        }
        return true;
        // gossip among six nodes can take longer than 20 s on a busy host (seen once in the full cluster suite)
      },
      60_000,
    );
    // and every replica holds its master's data (link up): only then can it be elected when its master dies
    for (const n of nodes)
      await waitFor(`node ${n.port} in sync`, async () => {
        const info = await admin(n.port).info('replication');
        return /role:master/.test(info) || /master_link_status:up/.test(info);
      });
  } catch (err) {
    await stop();
    throw err;
  }
  const byId = (id: string) => nodes.find((n) => n.id === id)!;
  const nodesView = async () =>
    ((await admin(nodes.find((n) => n.up)!.port).call('CLUSTER', 'NODES')) as string)
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
  const ownerOf = async (slot: number) => {
    for (const n of nodes.filter((x) => x.up)) {
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
  const mastersNow = async () =>
    (await nodesView())
      .filter((f) => f[2]!.includes('master'))
      .map((f) => byId(f[0]!))
      .filter((n) => n.up);
  const replicaOf = async (master: ClusterNode) => {
    const f = (await nodesView()).find((x) => x[2]!.includes('slave') && x[3] === master.id);
    if (!f) throw new Error(`no replica of ${master.port}`);
    return byId(f[0]!);
  };
  const startMigration = async (slot: number, to: ClusterNode) => {
    const from = await ownerOf(slot);
    if (from === to) throw new Error('slot already there');
    await admin(to.port).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    await admin(from.port).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
    return from;
  };
  const moveKeys = async (slot: number, from: ClusterNode, to: ClusterNode, batch: number, pauseMs: number) => {
    let moved = 0;
    for (;;) {
      const keys = (await admin(from.port).call('CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
      if (!keys.length) return moved;
      await admin(from.port).call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
      moved += keys.length;
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  /** every other master learns the slot's new owner now (gossip would tell them within a second or two) */
  const tellOthers = async (slot: number, to: ClusterNode, told: ClusterNode[]) => {
    for (const m of await mastersNow())
      if (m !== to && !told.includes(m)) await admin(m.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
  };
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    admin,
    ownerOf,
    masters: mastersNow,
    replicaOf,
    async migrateSlot(slot, to, { pauseMs = 0, batch = 10 } = {}) {
      const from = await startMigration(slot, to);
      const moved = await moveKeys(slot, from, to, batch, pauseMs);
      // hand over: the target first, then the source, then every other master learns it
      await admin(to.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      await admin(from.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      await tellOthers(slot, to, [from]);
      return moved;
    },
    async splitSlot(slot, to) {
      const from = await startMigration(slot, to);
      await moveKeys(slot, from, to, 100, 0);
      // the source can be told once it holds no key of the slot (in MIGRATING state it creates none: ASK)
      await admin(from.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
      return {
        from,
        finish: async () => {
          await admin(to.port).call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
          await tellOthers(slot, to, [from]);
        },
      };
    },
    async failover(slot) {
      const from = await ownerOf(slot);
      const to = await replicaOf(from);
      await admin(to.port).call('CLUSTER', 'FAILOVER');
      await waitFor(`replica ${to.port} promoted`, async () => (await ownerOf(slot)) === to);
      return { from, to };
    },
    async kill(node) {
      const exited = new Promise((r) => node.proc.once('exit', r));
      node.up = false;
      node.proc.kill('SIGKILL');
      await exited;
    },
    async restart(node) {
      node.proc = spawnNode(node.port);
      await waitFor(`node ${node.port} up again`, async () => (await admin(node.port).ping()) === 'PONG');
      node.up = true;
    },
    stop,
  };
}

/** The hash slot of a key (CRC16 of its hash tag, or of the whole key), as Redis computes it. */
export async function slotOf(redis: Redis, key: string): Promise<number> {
  return (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
}
