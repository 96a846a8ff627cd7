import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Private dependency instances for fault tests: never the machine's shared Redis or Postgres. */

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Send `probe` and resolve true once the answer matches `expect` (a RESP PING, a TCP connect...). */
export async function waitFor(port: number, probe: string | null, expect: RegExp, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      const done = (v: boolean) => {
        c.destroy();
        resolve(v);
      };
      c.setTimeout(1_000, () => done(false));
      c.once('error', () => done(false));
      if (probe === null) c.once('connect', () => done(true));
      else {
        c.once('connect', () => c.write(probe));
        c.on('data', (d) => done(expect.test(d.toString())));
      }
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing answered on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PrivateRedis {
  port: number;
  url: string;
  kill(sig?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** redis-server with AOF and `appendfsync always` in a temp dir; kill -9 and start again on the same data. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(port, 'PING\r\n', /PONG/, 10_000);
  };
  const kill = async (sig: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(sig);
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    cli: async (...args) =>
      execFileSync('redis-cli', ['-p', String(port), ...args])
        .toString()
        .trim(),
    async stop() {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  port: number;
  adminUrl: string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const asPostgres = ['--reuid=postgres', '--regid=postgres', '--clear-groups'];

/** initdb + postgres as the `postgres` user in a temp dir; pause() SIGSTOPs the server and every backend. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  execFileSync(
    'setpriv',
    [...asPostgres, `${PG_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const child = spawn(
    'setpriv',
    [
      ...asPostgres,
      `${PG_BIN}/postgres`,
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=60',
      '-c',
      'shared_buffers=16MB',
    ],
    { stdio: 'ignore' },
  );
  await waitFor(port, null, /./, 20_000);
  // wait until it accepts queries, not just TCP
  const { default: pg } = await import('pg');
  const until = Date.now() + 20_000;
  for (;;) {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const family = () => {
    // setpriv execs postgres, so child.pid is the postmaster; its children are the backends
    const kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)])
      .toString()
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter(Boolean);
    return [child.pid!, ...kids];
  };
  return {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pause() {
      for (const pid of family()) process.kill(pid, 'SIGSTOP');
    },
    resume() {
      for (const pid of family()) process.kill(pid, 'SIGCONT');
    },
    async stop() {
      if (child.exitCode === null) {
        try {
          for (const pid of family()) process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
        const exited = once(child, 'exit');
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
