import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ADMIN_URL } from '../helpers/db.js';
import { dropPrefix, uniquePrefix } from '../helpers/redis.js';
import { RawSmtp } from '../helpers/smtp-client.js';

const run = (env: Record<string, string>) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/all.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 60_000) => {
    const until = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`no ${re} in output:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return re.exec(out)!;
  };
  return { child, exited, waitFor, output: () => out + err };
};

// the second run has no TOKEN_SECRET: the machine's generated secret, which the banner and the log warn about
const freshStart = test.macro(async (t, workerThread: boolean, tokenSecret: string | undefined) => {
  const name = `mw_start_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const prefix = uniquePrefix();
  const p = run({
    DATABASE_URL: url.toString(),
    QUEUE_PREFIX: prefix,
    PORT: '0',
    SMTP_PORT: '0',
    HOST: '127.0.0.1',
    SMTP_HOST: '127.0.0.1',
    ...(tokenSecret ? { TOKEN_SECRET: tokenSecret } : {}),
    LOG_LEVEL: 'info',
    WORKER_THREAD: String(workerThread),
    // two delivery threads (the default on a 2-core machine, said here so that the test does not depend on it)
    WORKER_THREADS: '2',
  });
  try {
    const api = (await p.waitFor(/HTTP API:\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1/))[1]!;
    const smtpPort = Number((await p.waitFor(/SMTP:\s+127\.0\.0\.1:(\d+)/))[1]);
    const curl = (await p.waitFor(/Try:\s+curl -s -X POST '([^']+)'/))[1]!;
    t.regex(
      p.output(),
      /\n {2}Admin: +Bull Board off \(set ADMIN_USER and ADMIN_PASSWORD to serve it at http:\/\/127\.0\.0\.1:\d+\/admin\/queues\)\n/,
    );
    if (tokenSecret) {
      t.regex(
        p.output(),
        /\n {2}Tokens: +signed with TOKEN_SECRET \(every web process of this deployment needs the same one\)\n/,
      );
      t.notRegex(p.output(), /token_secret\.generated/);
    } else {
      t.regex(
        p.output(),
        /\n {2}Tokens: +signed with this machine's own secret \(\.data\/token-secret\); set TOKEN_SECRET, the same on every web process/,
      );
      t.regex(p.output(), /"level":40,.*"event":"token_secret\.generated"/);
    }
    const created = await fetch(curl, { method: 'POST' });
    t.is(created.status, 201);
    const box = (await created.json()) as { address: string; token: string };
    const r = await RawSmtp.sendOnce(smtpPort, 'a@example.org', [box.address], `Subject: started\r\n\r\nhi\r\n`);
    t.regex(r.data, /^250 /);
    const until = Date.now() + 15_000;
    let list: Array<{ subject: string }> = [];
    while (Date.now() < until && list.length === 0) {
      list = (await (
        await fetch(`${api}/api/v1/mailboxes/${box.address}/messages`, {
          headers: { authorization: `Bearer ${box.token}` },
        })
      ).json()) as typeof list;
      if (!list.length) await new Promise((res) => setTimeout(res, 50));
    }
    t.is(list[0]?.subject, 'started');
    // the delivery was counted where it ran (the worker thread, or the main thread), and /metrics shows it
    const metrics = await (await fetch(`${api.replace(/\/api\/v1$/, '')}/metrics`)).text();
    t.regex(
      metrics,
      new RegExp(`^mailwright_messages_delivered_total\\{role="${workerThread ? 'worker' : 'all'}"\\} 1$`, 'm'),
    );
    t.is(
      (
        metrics.match(
          new RegExp(`^mailwright_messages_delivered_total\\{role="${workerThread ? 'worker' : 'all'}"\\}`, 'gm'),
        ) ?? []
      ).length,
      1,
      "the threads' counters are summed into one series",
    );
    // WORKER_THREADS=2: thread 0 runs the whole worker role, thread 1 only consumes the inbound queues
    const started = p
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"worker.started"'))
      .map((l) => JSON.parse(l) as { thread?: number; inboundOnly?: boolean; concurrency: number });
    t.deepEqual(
      started.map((l) => [l.thread, l.inboundOnly, l.concurrency]).sort(),
      workerThread
        ? [
            [0, false, 32],
            [1, true, 32],
          ]
        : [[undefined, undefined, 64]],
    );
    t.is(
      (metrics.match(/^process_cpu_seconds_total\{/gm) ?? []).length,
      1,
      'process metrics once, from the main thread',
    );
    const stored = p
      .output()
      .split('\n')
      .find((l) => l.includes('"event":"inbound.stored"'));
    t.regex(stored ?? '', new RegExp(`"role":"${workerThread ? 'worker' : 'all'}"`));
    p.child.kill('SIGTERM');
    t.is(await p.exited, 0, 'clean exit on SIGTERM');
    t.regex(p.output(), /"event":"shutdown\.done"/);
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.end();
    await dropPrefix(prefix);
  }
});

test(
  'npm start on a fresh machine: creates the database, migrates, starts every role (delivery in two worker threads, WORKER_THREADS=2), prints where to reach it, stops on SIGTERM',
  freshStart,
  true,
  'x'.repeat(40),
);
test(
  "npm start with WORKER_THREAD=false and no TOKEN_SECRET: the same, with delivery on the main thread; the banner and a warning say the secret is this machine's own",
  freshStart,
  false,
  undefined,
);

test('invalid configuration stops start-up with a message naming the variable', async (t) => {
  const p = run({ SMTP_PORT: 'twenty-five', MAIL_DOMAINS: '' });
  const code = await p.exited;
  t.is(code, 2);
  t.regex(p.output(), /SMTP_PORT/);
  t.regex(p.output(), /MAIL_DOMAINS/);
});

test('a dependency that is down is named with the command that starts it', async (t) => {
  const p = run({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
  t.is(await p.exited, 1);
  t.regex(p.output(), /PostgreSQL is not answering at 127\.0\.0\.1:1[\s\S]*pg_ctlcluster --skip-systemctl-redirect/);
  t.regex(p.output(), /Redis is not answering at 127\.0\.0\.1:1[\s\S]*redis-server --daemonize yes/);
});
