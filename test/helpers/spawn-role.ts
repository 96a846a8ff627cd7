import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export type Role = 'web' | 'smtp' | 'worker';
export interface LogLine {
  event?: string;
  level?: number;
  [k: string]: unknown;
}

export interface RoleProcess {
  child: ChildProcess;
  lines: LogLine[];
  /** resolves with the first log line (past or future) with this event that matches `pred` */
  waitFor(event: string, timeoutMs?: number, pred?: (l: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running, and wait for the exit */
  stop(): Promise<void>;
}

/** Spawn a real entrypoint (`node --import tsx src/bin/<role>.ts`) and read its pino JSON lines. */
export function spawnRole(role: Role, env: Record<string, string>): RoleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/bin/${role}.ts`], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ event: 'non-json', text });
    }
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    for (const w of [...waiters]) w();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() };
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const waitFor: RoleProcess['waitFor'] = (event, timeoutMs = 20_000, pred = () => true) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => l.event === event && pred(l));
        if (hit) {
          cleanup();
          resolve(hit);
          return;
        }
        if (done) {
          cleanup();
          reject(
            new Error(
              `${role} exited before "${event}"\n${stderr}\n${lines
                .map((l) => JSON.stringify(l))
                .slice(-20)
                .join('\n')}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${role}: no "${event}" within ${timeoutMs} ms\n${stderr}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    lines,
    waitFor,
    exited,
    signal: (sig) => {
      if (!done) child.kill(sig);
    },
    async stop() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Environment for a spawned role that joins an in-process test system (same database, Redis, prefix). */
export function envFor(
  config: {
    db: { url: string };
    redis: { url: string; prefix: string };
    mail: { domains: string[] };
    tokenSecret?: string;
  },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: config.db.url,
    DATABASE_POOL_MAX: '3',
    REDIS_URL: config.redis.url,
    QUEUE_PREFIX: config.redis.prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: '0',
    MAIL_DOMAINS: config.mail.domains.join(','),
    PLAN_CACHE_MS: '0',
    DELIVERY_BACKOFF_MS: '200',
    // as in startSystem: limits on, with budgets no ordinary test reaches (a full fault flood opens 2,000
    // SMTP sessions from 127.0.0.1; the default of 600 per minute cut it short); tests of the limits set their own
    SMTP_CONNECTIONS_PER_IP: '1000000',
    RATE_LIMIT_IP_POINTS: '1000000',
    RATE_LIMIT_CREDENTIAL_POINTS: '1000000',
    RATE_LIMIT_CREATE_IP_POINTS: '1000000',
    RATE_LIMIT_CREATE_CREDENTIAL_POINTS: '1000000',
    ...(config.tokenSecret ? { TOKEN_SECRET: config.tokenSecret } : {}),
    ...extra,
  };
}
