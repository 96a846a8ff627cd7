import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCerts, type TestCerts } from './test-ca.js';
import { freePort } from './tls-redis.js';

export interface TlsPostgres {
  port: number;
  certs: TestCerts;
  stop(): Promise<void>;
}

/** Debian's server binaries (/usr/lib/postgresql/<major>/bin), the newest installed. */
const pgBin = (name: string) => {
  const majors = readdirSync('/usr/lib/postgresql')
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!majors.length) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', majors[0]!, 'bin', name);
};

/** PostgreSQL refuses to run as root: when we are root, its processes run as the `postgres` user. */
const runAs = () => {
  if (process.getuid?.() !== 0) return {};
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
  };
};

/**
 * A throwaway PostgreSQL server on a free loopback port that accepts TLS connections only (pg_hba: hostssl),
 * user `postgres` without a password, with a server certificate signed by a CA made for this run.
 */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-tls-pg-'));
  const certs = makeTestCerts(dir);
  const data = join(dir, 'data');
  const user = runAs();
  if (user.uid !== undefined)
    for (const f of ['', 'server.key', 'server.pem']) chownSync(join(dir, f), user.uid, user.gid);
  chmodSync(certs.keyFile, 0o600);
  execFileSync(pgBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions'], {
    ...user,
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
  const port = await freePort();
  const child = spawn(
    pgBin('postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${certs.certFile}`,
      '-c',
      `ssl_key_file=${certs.keyFile}`,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=40',
    ],
    { ...user, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`postgres with ssl=on did not start:\n${out}`)), 30_000);
    const read = (d: Buffer) => {
      out += d.toString();
      if (out.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited (${code}):\n${out}`));
    });
  });
  return {
    port,
    certs,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT'); // fast shutdown
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
