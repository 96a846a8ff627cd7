import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { envFor } from '../helpers/spawn-role.js';
import { selfSignedCert, type TlsFiles } from '../helpers/tls-cert.js';

// Issue 18: a port already in use printed a stack trace. Every listener now answers like the Postgres/Redis
// preflight: one line on stderr naming the port and its variable, no stack, exit 1. So does a TLS key or
// certificate file (STARTTLS and SMTPS) that cannot be read.
const test = anyTest as TestFn<{ db: TestDatabase; tls: TlsFiles; prefixes: string[] }>;

test.before(async (t) => {
  t.context = { db: await createTestDatabase(), tls: await selfSignedCert(), prefixes: [] };
});
test.after.always(async (t) => {
  for (const prefix of t.context.prefixes ?? []) await dropPrefix(prefix);
  await t.context.db?.drop();
  await t.context.tls?.remove();
});

/** A port held by another listener on 127.0.0.1 for the length of the test. */
async function occupiedPort(t: { teardown(fn: () => Promise<void>): void }): Promise<number> {
  const holder = net.createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as AddressInfo).port;
}

/** Run an entrypoint until it exits (killed after 45 s); its exit code, stdout and stderr. */
function run(file: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

const STACK = /^\s+at |"stack"/m;

const cases: Array<{ title: string; file: string; variable: string; env?: (tls: TlsFiles) => Record<string, string> }> =
  [
    { title: 'web: PORT', file: 'src/bin/web.ts', variable: 'PORT' },
    { title: 'smtp: SMTP_PORT', file: 'src/bin/smtp.ts', variable: 'SMTP_PORT' },
    {
      title: 'smtp: SMTPS_PORT',
      file: 'src/bin/smtp.ts',
      variable: 'SMTPS_PORT',
      env: (tls) => ({ SMTP_TLS_KEY_FILE: tls.keyFile, SMTP_TLS_CERT_FILE: tls.certFile }),
    },
    {
      title: 'smtp: METRICS_PORT',
      file: 'src/bin/smtp.ts',
      variable: 'METRICS_PORT',
      env: () => ({ METRICS_HOST: '127.0.0.1' }),
    },
    {
      title: 'worker: METRICS_PORT',
      file: 'src/bin/worker.ts',
      variable: 'METRICS_PORT',
      env: () => ({ METRICS_HOST: '127.0.0.1' }),
    },
    { title: 'npm start: SMTP_PORT', file: 'src/bin/all.ts', variable: 'SMTP_PORT' },
    // web starts last in npm start: the worker thread and SMTP, already running, are closed before the exit
    { title: 'npm start: PORT', file: 'src/bin/all.ts', variable: 'PORT' },
  ];

for (const c of cases) {
  // one at a time: seven entrypoints starting at once on a shared machine take longer than the kill timer
  test.serial(
    `${c.title} already in use: one line naming the port and the variable, no stack trace, exit 1`,
    async (t) => {
      const port = await occupiedPort(t);
      const prefix = uniquePrefix();
      t.context.prefixes.push(prefix);
      const env = envFor(
        { db: { url: t.context.db.url }, redis: { url: TEST_REDIS_URL, prefix }, mail: { domains: ['mw.test'] } },
        {
          ...c.env?.(t.context.tls),
          [c.variable]: String(port),
        },
      );
      const r = await run(c.file, env);
      t.is(r.code, 1, `${r.stderr}\n${r.stdout.slice(-3000)}`);
      t.is(
        r.stderr,
        `port ${port} (${c.variable}) is already in use on 127.0.0.1: stop the other process or set ${c.variable}\n`,
      );
      t.notRegex(r.stdout, STACK);
      const failed = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event?: string; reason?: string })
        .find((l) => l.event === 'start.failed');
      t.is(
        failed?.reason,
        `port ${port} (${c.variable}) is already in use on 127.0.0.1: stop the other process or set ${c.variable}`,
      );
    },
  );
}

test.serial(
  'smtp: a SMTP_TLS_KEY_FILE that cannot be read is one line naming the variable and the file, no stack trace, exit 1',
  async (t) => {
    const prefix = uniquePrefix();
    t.context.prefixes.push(prefix);
    const missing = `${t.context.tls.keyFile}.missing`;
    const env = envFor(
      { db: { url: t.context.db.url }, redis: { url: TEST_REDIS_URL, prefix }, mail: { domains: ['mw.test'] } },
      {
        SMTP_TLS_KEY_FILE: missing,
        SMTP_TLS_CERT_FILE: t.context.tls.certFile,
        SMTPS_PORT: '0',
      },
    );
    const r = await run('src/bin/smtp.ts', env);
    t.is(r.code, 1, `${r.stderr}\n${r.stdout.slice(-3000)}`);
    t.is(
      r.stderr,
      `SMTP_TLS_KEY_FILE ${missing} cannot be read (ENOENT): set SMTP_TLS_KEY_FILE to a readable PEM file\n`,
    );
    t.notRegex(r.stdout, STACK);
  },
);
