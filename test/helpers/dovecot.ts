import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { freePort } from './private-services.js';
import { dovecotConf, dovecotIdentity, passwdFile, type DovecotUser } from './dovecot-config.js';
import { countSessions, seedMaildirFiles, type LogCounts, type SeedMessage } from './dovecot-mail.js';

export type { DovecotUser } from './dovecot-config.js';
export type { LogCounts, SeedMessage } from './dovecot-mail.js';

/**
 * A private Dovecot IMAP server per test file: `dovecot -F -c <temp dir>/dovecot.conf` on a free 127.0.0.1
 * port, its own base_dir, state_dir, log and Maildirs. The system's dovecot service and /etc/dovecot are never
 * used. The master runs in its own process group, so stop() reaches every process it started and nothing else.
 */
export interface Dovecot {
  host: '127.0.0.1';
  port: number;
  /** PID of the Dovecot master (leader of the process group of every Dovecot process of this instance). */
  pid: number;
  dir: string;
  /** imapflow options for `user` (password from `startDovecot`, or `password` for a wrong one), no logging. */
  imapOptions(user: string, password?: string): ImapFlowOptions;
  /** APPEND through IMAP as `user` (one login and logout, counted in the log). */
  append(
    user: string,
    folder: string,
    raw: string | Buffer,
    flags?: string[],
  ): Promise<{ uid: number; uidValidity: number }>;
  /** Bulk seeding: write Maildir files directly (no IMAP session), in order; creates the folder if needed. */
  seedMaildir(user: string, folder: string, messages: SeedMessage[]): void;
  /** What the log says so far (Dovecot writes it asynchronously: poll with `waitForLog`). */
  logCounts(): LogCounts;
  /** Resolves once `test(logCounts())` holds; rejects after `ms` with the last counts. */
  waitForLog(test: (c: LogCounts) => boolean, ms?: number): Promise<LogCounts>;
  /** PIDs still alive in this instance's process group. */
  processes(): number[];
  /** SIGTERM to the master, SIGKILL to the group after a bound; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** `dovecot` from PATH, else Debian's /usr/sbin (often not in an unprivileged user's PATH). */
const DOVECOT_BIN =
  (process.env.PATH ?? '')
    .split(':')
    .map((p) => join(p, 'dovecot'))
    .find((p) => p.startsWith('/') && existsSync(p)) ?? '/usr/sbin/dovecot';
const READY_MS = 30_000;
const STOP_MS = 10_000;
const PORT_ATTEMPTS = 5;

export async function startDovecot({
  users,
  extraConf = '',
}: {
  users: DovecotUser[];
  /** more dovecot.conf lines (e.g. `imap_capability = …` for a server without IDLE) */
  extraConf?: string;
}): Promise<Dovecot> {
  if (!existsSync(DOVECOT_BIN)) throw new Error('dovecot is not installed: run .ci/apt-deps (Debian dovecot-imapd)');
  const passwords = new Map(users.map((u) => [u.user, u.password]));
  const who = dovecotIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'mw-dovecot-'));
  chmodSync(dir, 0o755); // mail processes (nobody) must traverse it
  writeFileSync(join(dir, 'users'), passwdFile(users));
  mkdirSync(join(dir, 'mail'));
  chownSync(join(dir, 'mail'), who.mailUid, who.mailGid);
  const logFile = join(dir, 'dovecot.log');
  let started: { child: ChildProcess; port: number } | undefined;
  try {
    for (let attempt = 1; !started; attempt++) {
      const port = await freePort();
      const greeting = `Mailwright test Dovecot ${basename(dir)} on ${port} ready.`;
      writeFileSync(join(dir, 'dovecot.conf'), dovecotConf(dir, port, who, greeting) + extraConf);
      rmSync(logFile, { force: true }); // a failed attempt's errors must not decide about this one
      const child = spawn(DOVECOT_BIN, ['-F', '-c', join(dir, 'dovecot.conf')], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const outcome = await waitForGreeting(child, port, greeting, READY_MS);
      if (outcome === 'ready') started = { child, port };
      else {
        const why = `${stderr}\n${readTail(logFile)}`;
        await stopGroup(child);
        // another process took the port between freePort() and Dovecot's bind: try another one
        if (/Address already in use/.test(why) && attempt < PORT_ATTEMPTS) continue;
        throw new Error(`dovecot did not start (${outcome}): ${why.trim().slice(-2_000)}`);
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { child, port } = started;
  const pid = child.pid!;

  const imapOptions = (user: string, password?: string): ImapFlowOptions => ({
    host: '127.0.0.1',
    port,
    secure: false,
    logger: false,
    auth: { user, pass: password ?? passwords.get(user) ?? '' },
  });
  const logCounts = () => countSessions(readTail(logFile, Infinity));
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    pid,
    dir,
    imapOptions,
    logCounts,
    async append(user, folder, raw, flags) {
      const client = new ImapFlow(imapOptions(user));
      await client.connect();
      try {
        const res = await client.append(folder, raw, flags);
        if (!res || !res.uid) throw new Error(`APPEND to ${folder} as ${user} returned no UID`);
        return { uid: res.uid, uidValidity: Number(res.uidValidity) };
      } finally {
        await client.logout();
      }
    },
    seedMaildir: (user, folder, messages) => seedMaildirFiles(join(dir, 'mail'), user, folder, messages, who),
    async waitForLog(test, ms = 10_000) {
      const until = Date.now() + ms;
      for (;;) {
        const c = logCounts();
        if (test(c)) return c;
        if (Date.now() > until) throw new Error(`dovecot log did not reach the expected state: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    processes: () => groupPids(pid),
    stop() {
      stopped ??= stopGroup(child).finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Connect until this instance's IMAP greeting arrives; 'exited' as soon as the master dies (bad config, port taken). */
async function waitForGreeting(
  child: ChildProcess,
  port: number,
  greeting: string,
  ms: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  const until = Date.now() + ms;
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => (exited = true));
  while (!exited) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      const done = (v: boolean) => {
        c.destroy();
        resolve(v);
      };
      c.setTimeout(2_000, () => done(false));
      c.once('error', () => done(false));
      let text = '';
      c.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n')) done(text.startsWith('* OK') && text.includes(greeting));
      });
    });
    if (ok) return 'ready';
    if (Date.now() > until) return 'timeout';
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'exited';
}

/** SIGTERM the master, wait a bounded time for it and its children, then SIGKILL whatever is left of the group. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = new Promise((r) => setTimeout(r, STOP_MS).unref());
    await Promise.race([exited, timer]);
  }
  const until = Date.now() + 2_000;
  while (groupPids(pid).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  if (groupPids(pid).length > 0) process.kill(-pid, 'SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

/** Live (non-zombie) processes whose process group is `pgid`, read from /proc. */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may contain spaces, so parse after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(name));
  }
  return pids;
}

function readTail(file: string, max = 4_000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return max === Infinity ? text : text.slice(-max);
  } catch {
    return '';
  }
}
