import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Metrics } from '../ops/metrics.js';
import { watchableConnected } from '../store/connected-mailboxes.js';
import type { Stores } from '../store/index.js';
import { WatchLeases } from './watch-lease.js';
import { InboxWatcher, type WatcherDeps } from './watcher.js';

export type WatchPoolDeps = Omit<WatcherDeps, 'findMailbox' | 'metrics'> & {
  stores: Pick<Stores, 'mailboxes'>;
  metrics: Pick<Metrics, 'connectedWatchers' | 'connectedWatchEvents'>;
};

export interface WatchPool {
  /** mailbox ids this worker watches now */
  watching(): string[];
  /** look for mailboxes to watch, deleted ones and changed accounts now (the timer does it every CONNECTED_WATCH_SCAN_MS) */
  scan(): Promise<void>;
  /** stop every watcher (LOGOUT) and give its lease back */
  close(): Promise<void>;
}

/** Fisher-Yates: workers scanning at the same moment try the mailboxes in different orders. */
function shuffled<T>(list: T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The worker role's IDLE watchers (watcher.ts): one per active connected mailbox across all worker processes.
 * Every CONNECTED_WATCH_SCAN_MS it reads the watchable mailboxes (one query: ids and account fingerprints), stops
 * the watchers of mailboxes deleted or deactivated (LOGOUT) and restarts those whose account changed (LOGOUT, then a
 * login with the new settings), and takes the lease (`SET NX PX`) of unwatched ones, up to CONNECTED_WATCHERS_MAX
 * in this process. Every third of CONNECTED_WATCH_LEASE_MS it renews its leases; a lease found taken or expired (or
 * not renewed for a whole lease, Redis being away) stops its watcher: another worker may hold it by then.
 */
export function startWatchPool(deps: WatchPoolDeps): WatchPool {
  const cfg = deps.config.connected.watch;
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const leases = new WatchLeases(deps.redis, `${deps.config.redis.prefix}:connected`, owner, cfg.leaseMs);
  const watchers = new Map<string, { watcher: InboxWatcher; renewedAt: number }>();
  const log = deps.log.child({ component: 'connected-watch' });
  let closing = false;

  const gauge = () => {
    let watching = 0;
    for (const { watcher } of watchers.values()) if (watcher.connected) watching++;
    deps.metrics.connectedWatchers.set({ state: 'watching' }, watching);
    deps.metrics.connectedWatchers.set({ state: 'connecting' }, watchers.size - watching);
  };

  const start = (id: string, fingerprint: string) => {
    const watcher = new InboxWatcher(
      { ...deps, findMailbox: (mailboxId) => deps.stores.mailboxes.findById(mailboxId) },
      id,
      fingerprint,
      gauge,
    );
    watchers.set(id, { watcher, renewedAt: Date.now() });
    watcher.start();
    gauge();
    log.info({ event: 'connected.watch_started', mailboxId: id });
  };

  const stop = async (id: string, why: string, release = true) => {
    const entry = watchers.get(id);
    if (!entry) return;
    watchers.delete(id);
    gauge();
    await entry.watcher.stop();
    if (release) await leases.release(id).catch(() => undefined);
    log.info({ event: 'connected.watch_stopped', mailboxId: id, why });
  };

  let scanning: Promise<void> | undefined;
  const scanOnce = async () => {
    const rows = await watchableConnected(deps.db);
    const wanted = new Map(rows.map((r) => [r.id, r.fingerprint]));
    const stops: Promise<void>[] = [];
    for (const [id, { watcher }] of watchers) {
      const fingerprint = wanted.get(id);
      if (fingerprint === undefined) stops.push(stop(id, 'mailbox_gone'));
      else if (fingerprint !== watcher.fingerprint)
        // a changed account: LOGOUT of the old session before the new one logs in; the lease stays ours
        stops.push(stop(id, 'account_changed', false).then(() => void (closing || start(id, fingerprint))));
    }
    await Promise.all(stops);
    for (const { id, fingerprint } of shuffled(rows)) {
      if (closing || watchers.size >= cfg.maxPerWorker) break;
      if (watchers.has(id)) continue;
      if (await leases.take(id)) {
        if (closing) await leases.release(id).catch(() => undefined);
        else start(id, fingerprint);
      }
    }
  };
  const scan = () =>
    (scanning ??= scanOnce()
      .catch((err: unknown) => log.warn({ event: 'connected.watch_scan_failed', err }))
      .finally(() => (scanning = undefined)));

  const renew = async () => {
    await Promise.all(
      [...watchers].map(async ([id, entry]) => {
        try {
          if (await leases.renew(id)) entry.renewedAt = Date.now();
          else {
            deps.metrics.connectedWatchEvents.inc({ event: 'lease_lost' });
            await stop(id, 'lease_lost', false);
          }
        } catch (err) {
          // Redis away: the watcher goes on until its lease would have expired, then stops (another worker may take it)
          if (Date.now() - entry.renewedAt >= cfg.leaseMs) {
            deps.metrics.connectedWatchEvents.inc({ event: 'lease_lost' });
            log.warn({ event: 'connected.watch_lease_unrenewed', mailboxId: id, err });
            await stop(id, 'lease_unrenewed', false);
          }
        }
      }),
    );
  };

  const timers: NodeJS.Timeout[] = [];
  if (cfg.maxPerWorker > 0) {
    timers.push(setInterval(() => void scan(), cfg.scanMs));
    timers.push(setInterval(() => void renew(), Math.max(100, Math.floor(cfg.leaseMs / 3))));
    for (const t of timers) t.unref();
    void scan();
  }
  gauge();

  return {
    watching: () => [...watchers.keys()],
    scan,
    async close() {
      closing = true;
      for (const t of timers) clearInterval(t);
      await scanning;
      await Promise.all([...watchers.keys()].map((id) => stop(id, 'shutdown')));
    },
  };
}
