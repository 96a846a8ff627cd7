import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TlsFiles {
  keyFile: string;
  certFile: string;
  remove(): Promise<void>;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost (openssl CLI) in a temporary directory, for the
 * SMTP_TLS_KEY_FILE / SMTP_TLS_CERT_FILE settings. Clients in tests accept it with `rejectUnauthorized: false`.
 */
export async function selfSignedCert(): Promise<TlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { keyFile, certFile, remove: () => rm(dir, { recursive: true, force: true }) };
}
