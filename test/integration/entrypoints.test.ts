import test from 'ava';
import { spawn } from 'node:child_process';
import { createTestDatabase } from '../helpers/db.js';

/** Run an entrypoint to its end; its exit code and stderr. */
function run(file: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const STACK = /^\s+at /m;

for (const [args, expected] of [
  [['users:create', '--plan'], /^error: Option '--plan <value>' argument missing\nusage:/],
  [['users:create', '--plan', 'free', '--bogus'], /^error: Unknown option '--bogus'\nusage:/],
  [['plans:list', 'extra'], /^error: Unexpected argument 'extra'/],
  [['users:create'], /^error: --plan is required\nusage:/],
  [['keys:create'], /^error: --user is required\nusage:/],
  [['nosuch'], /^error: unknown command "nosuch"\nusage:/],
  [[], /^error: no command given\nusage:/],
] as const) {
  test(`cli ${args.join(' ')}: a one-line error and the usage, exit 2, no stack trace`, async (t) => {
    const r = await run('src/bin/cli.ts', [...args]);
    t.is(r.code, 2);
    t.regex(r.stderr, expected);
    t.notRegex(r.stderr, STACK);
  });
}

test('cli with a database that does not exist: one error line, exit 1, no stack trace', async (t) => {
  const r = await run('src/bin/cli.ts', ['plans:list'], {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/mw_no_such_database',
  });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'error: database "mw_no_such_database" does not exist');
});

for (const role of ['web', 'smtp', 'worker', 'cli']) {
  test(`${role}: an invalid setting names the variable, exit 2, no stack trace`, async (t) => {
    const r = await run(`src/bin/${role}.ts`, role === 'cli' ? ['plans:list'] : [], { PORT: 'abc', SMTP_PORT: '1e3' });
    t.is(r.code, 2);
    t.regex(r.stderr, /^invalid configuration:\n/);
    t.regex(r.stderr, /PORT: expected a whole number in decimal digits \(got "abc"\)/);
    t.regex(r.stderr, /SMTP_PORT: expected a whole number/);
    t.notRegex(r.stderr, STACK);
  });
}

// Found by an audit (2026-12-02): secrets echoed in configuration errors, URLs never checked, release and a
// production web without TOKEN_SECRET not ending like the other entrypoints, raw SQL from the CLI
test('release: an invalid setting names the variable, exit 2, no stack trace', async (t) => {
  const r = await run('src/bin/release.ts', [], { PORT: 'abc' });
  t.is(r.code, 2);
  t.regex(r.stderr, /^invalid configuration:\n {2}PORT: /);
});

for (const role of ['web', 'release']) {
  test(`${role}: a bad secret is named with its length, never its value`, async (t) => {
    const secret = 'Zq8vN3xL0pR7tY2wK5mB9cF4hJ6dS1a'; // 31 characters: one too few
    const r = await run(`src/bin/${role}.ts`, [], { TOKEN_SECRET: secret, PORT: '0' });
    t.is(r.code, 2);
    t.regex(r.stderr, /TOKEN_SECRET: at least 32 characters \(got a value of 31 characters\)/);
    t.false(r.stderr.includes(secret));
  });
}

test('a DATABASE_URL or REDIS_URL that is not a URL of its kind fails start-up, naming it, without its password', async (t) => {
  const r = await run('src/bin/web.ts', [], {
    DATABASE_URL: 'postgres://mw:s3cr3t-pw@127.0.0.1:54x32/mailwright',
    REDIS_URL: 'http://127.0.0.1:6379',
    PORT: '0',
  });
  t.is(r.code, 2);
  t.regex(
    r.stderr,
    /DATABASE_URL: expected a URL starting with postgres:\/\/ or postgresql:\/\/ \(got "postgres:\/\/mw:\*\*\*@127\.0\.0\.1:54x32\/mailwright"\)/,
  );
  t.regex(r.stderr, /REDIS_URL: expected a URL starting with redis:\/\/ or rediss:\/\//);
  t.false(r.stderr.includes('s3cr3t-pw'));
  const cli = await run('src/bin/cli.ts', ['plans:list'], { DATABASE_URL: 'not a url' });
  t.is(cli.code, 2);
  t.regex(cli.stderr, /DATABASE_URL: expected a URL/);
});

test('web in production without TOKEN_SECRET: one configuration message, exit 2, no stack trace', async (t) => {
  const r = await run('src/bin/web.ts', [], { NODE_ENV: 'production', TOKEN_SECRET: '', PORT: '0' });
  t.is(r.code, 2);
  t.regex(r.stderr, /^invalid configuration:\n {2}TOKEN_SECRET: must be set in production/);
  t.notRegex(r.stderr, STACK);
});

test('cli --help prints the usage (exit 0); a bad --email or an empty --name is a usage error', async (t) => {
  const help = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/cli.ts', '--help'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.on('close', (code) => resolve({ code, stdout }));
  });
  t.is(help.code, 0);
  t.regex(help.stdout, /^usage:\n/);
  for (const [args, expected] of [
    [['--email', 'not-an-email'], /^error: --email "not-an-email" is not an email address\nusage:/],
    [['--name', ' '], /^error: --name must not be empty\nusage:/],
  ] as const) {
    const r = await run('src/bin/cli.ts', ['users:create', '--plan', 'free', ...args]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, expected);
  }
});

test('cli users:create with an email that exists (in any case): the rule, not the SQL, exit 1', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const first = await run('src/bin/cli.ts', ['users:create', '--plan', 'free', '--email', 'Dev@Example.org'], {
    DATABASE_URL: db.url,
  });
  t.is(first.code, 0, first.stderr);
  const again = await run('src/bin/cli.ts', ['users:create', '--plan', 'free', '--email', 'dev@example.org'], {
    DATABASE_URL: db.url,
  });
  t.is(again.code, 1);
  t.is(again.stderr.trim(), 'error: a user with the email dev@example.org exists already');
});

test('release prints one log line like every role (role, level, time, event), on success and on failure', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const release = (url: string) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/release.ts'], {
        env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.on('close', (code) => resolve({ code, stdout }));
    });
  const ok = await release(db.url);
  t.is(ok.code, 0);
  const lines = ok.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.is(lines.length, 1);
  t.like(lines[0], { role: 'release', level: 30, event: 'release.done', applied: [] });
  t.is(typeof lines[0].time, 'number');
  const failed = await release('postgres://postgres@127.0.0.1:1/none');
  t.is(failed.code, 1);
  t.like(JSON.parse(failed.stdout.trim()), { role: 'release', level: 50, event: 'release.failed' });
});
