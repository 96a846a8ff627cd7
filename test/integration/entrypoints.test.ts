import test from 'ava';
import { spawn } from 'node:child_process';

/** Run an entrypoint to its end; its exit code and stderr. */
function run(file: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
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
  const r = await run('src/bin/cli.ts', ['plans:list'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/mw_no_such_database' });
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
