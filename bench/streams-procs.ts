import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

export { freePort } from '../test/helpers/private-services.js';

export interface Proc {
  name: string;
  child: ChildProcess;
  rssKb(): number;
  stop(): Promise<void>;
}

/** Start `src/bin/<role>.ts` as its own process and wait for its "listening"/"started" log event. */
export async function startRole(
  role: 'web' | 'smtp' | 'worker',
  env: Record<string, string>,
  readyEvent: string,
  nodeFlags: string[] = [],
): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', `src/bin/${role}.ts`], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start:\n${log}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes(`"event":"${readyEvent}"`)) {
        clearTimeout(timer);
        resolve();
      }
      if (log.length > 100_000) log = log.slice(-10_000);
    });
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited ${code}:\n${log}`));
    });
  });
  return {
    name: role,
    child,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export const pct = (values: number[], p: number) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
export const ms = (n: number) => `${n.toFixed(1)} ms`;

/** A full garbage collection in a process started with --inspect=127.0.0.1:<port> (HeapProfiler.collectGarbage). */
export async function fullGc(inspectPort: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const ws = new WebSocket(target!.webSocketDebuggerUrl);
  await once(ws, 'open');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to HeapProfiler.collectGarbage')), 60_000);
      ws.on('message', (d) => {
        if ((JSON.parse((d as Buffer).toString()) as { id?: number }).id === 1) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    ws.close();
  }
}
