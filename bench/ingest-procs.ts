import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, fstatSync, readFileSync, readSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** A child process of the bench, its output in a log file. */
export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
}

export function startProc(
  name: string,
  args: string[],
  env: Record<string, string>,
  logDir: string,
  cwd: string,
): Proc {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, pid: child.pid, logFile, exited };
}

/** Run a process to completion, returning its stdout; rejects with its stderr on a non-zero exit. */
export function runToEnd(args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(new Error(`${args.join(' ')} exited with ${code ?? signal}: ${err.slice(-2000) || out.slice(-2000)}`));
    });
  });
}

/** Poll until `check` is true or the process died or the deadline passed. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  proc?: Proc,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let dead = false;
  void proc?.exited.then(() => {
    dead = true;
  });
  for (;;) {
    if (await check()) return;
    if (dead) throw new Error(`${what}: ${proc!.name} exited; see ${proc!.logFile}:\n${tail(proc!.logFile)}`);
    if (Date.now() > until)
      throw new Error(`${what}: not ready within ${timeoutMs} ms${proc ? `; see ${proc.logFile}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const tail = (file: string, bytes = 1500) => {
  try {
    return readFileSync(file, 'utf8').slice(-bytes);
  } catch {
    return '';
  }
};

export const logContains = (proc: Proc, text: string) => () => tail(proc.logFile, 1 << 20).includes(text);

export { freePort } from '../test/helpers/private-services.js';

/** true once something on host:port sends an SMTP greeting */
export const smtpGreets = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('220')));
    s.once('error', () => done(false));
  });

export const httpOk = (url: string) => () =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProc(p: Proc, graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

export interface Memory {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS (now) and VmHWM (peak resident set since start) of a live process, from /proc. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples VmRSS of some processes every `everyMs`, keeping the maximum seen (VmHWM is read at the end too). */
export function rssSampler(procs: Proc[], everyMs = 100) {
  const peak = new Map<string, number>();
  let window = new Map<string, number>();
  const sample = () => {
    for (const p of procs) {
      const m = memoryOf(p.pid);
      if (!m || Number.isNaN(m.rssKb)) continue;
      peak.set(p.name, Math.max(peak.get(p.name) ?? 0, m.rssKb));
      window.set(p.name, Math.max(window.get(p.name) ?? 0, m.rssKb));
    }
  };
  const timer = setInterval(sample, everyMs);
  sample();
  return {
    now: (name: string) => memoryOf(procs.find((p) => p.name === name)!.pid),
    peakKb: (name: string) => {
      sample();
      const hwm = memoryOf(procs.find((p) => p.name === name)!.pid)?.hwmKb ?? 0;
      return Math.max(peak.get(name) ?? 0, hwm);
    },
    /** the highest VmRSS per process since the previous call (or the start); starts a new window */
    windowPeaks: () => {
      sample();
      const w = window;
      window = new Map();
      return w;
    },
    stop: () => clearInterval(timer),
  };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat; undefined once it is gone. */
export function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * System calls made so far by a process (`syscr` + `syscw` of /proc/<pid>/io: reads and writes of any kind,
 * sockets included). Unlike CPU time this count does not depend on what else the machine is doing.
 */
export function syscallsOf(pid: number): number | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
    return field('syscr') + field('syscw');
  } catch {
    return undefined;
  }
}

/** Total CPU ms of a set of pids; pids that disappeared count as 0 (compare like with like). */
export const cpuMsOfAll = (pids: number[]) => new Map(pids.map((p) => [p, cpuMsOf(p) ?? 0]));

const logSize = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** What a log gained after byte `from` (only that part is read: the roles' logs grow by megabytes in a run). */
function readFrom(file: string, from: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, fstatSync(fd).size - from));
    const n = readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Heap in use (bytes) of a role right after a forced full GC: bench/heap-probe.mjs answers SIGUSR2 with a line in
 * the process log. Undefined when the process was started without --expose-gc. Only the main thread's heap:
 * with BENCH_LAYOUT=all the worker role's thread is not included.
 */
export async function heapAfterGc(p: Proc, timeoutMs = 15_000): Promise<number | undefined> {
  const from = logSize(p.logFile);
  p.child.kill('SIGUSR2');
  let answer: string | undefined;
  await waitFor(
    `${p.name}: heap probe`,
    () => {
      answer = /bench\.heap_after_gc (\d+|unavailable)/.exec(readFrom(p.logFile, from))?.[1];
      return answer !== undefined;
    },
    timeoutMs,
    p,
  );
  return answer === 'unavailable' ? undefined : Number(answer);
}
