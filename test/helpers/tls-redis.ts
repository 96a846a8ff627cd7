import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCerts } from './test-ca.js';

export interface TlsRedis {
  url: string;
  caFile: string;
  otherCaFile: string;
  stop(): Promise<void>;
}

export const freePort = async () => {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
};

/**
 * A throwaway redis-server speaking TLS only, on a free loopback port, with a server certificate for 127.0.0.1
 * signed by a CA made for this run (openssl CLI). `otherCaFile` is a second CA that did not sign it.
 */
export async function startTlsRedis(): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-tls-redis-'));
  const certs = makeTestCerts(dir);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      certs.certFile,
      '--tls-key-file',
      certs.keyFile,
      '--tls-ca-cert-file',
      certs.caFile,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server --tls-port did not start:\n${out}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
  return {
    url: `rediss://127.0.0.1:${port}`,
    caFile: certs.caFile,
    otherCaFile: certs.otherCaFile,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
