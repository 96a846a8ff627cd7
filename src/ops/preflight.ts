import net from 'node:net';
import type { Config } from '../core/config.js';

const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

const reachable = (host: string, port: number, ms = 2_000) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

/** Before anything else: can we reach Postgres and Redis? If not, say exactly how to start them. */
export async function preflight(config: Config): Promise<string[]> {
  const problems: string[] = [];
  const pg = new URL(config.db.url);
  const pgHost = pg.hostname || '127.0.0.1';
  const pgPort = Number(pg.port || 5432);
  if (!(await reachable(pgHost, pgPort))) {
    problems.push(
      `PostgreSQL is not answering at ${pgHost}:${pgPort}. Start it (Debian) with:\n    ${START_POSTGRES}\n  or set DATABASE_URL.`,
    );
  }
  const r = new URL(config.redis.url);
  const rHost = r.hostname || '127.0.0.1';
  const rPort = Number(r.port || 6379);
  if (!(await reachable(rHost, rPort))) {
    problems.push(
      `Redis is not answering at ${rHost}:${rPort}. Start it with:\n    ${START_REDIS}\n  or set REDIS_URL.`,
    );
  }
  return problems;
}
