import type { Metrics } from '../ops/metrics.js';

export type Transport = 'sse' | 'ws';

export interface OpenStream {
  transport: Transport;
  ping(): void;
  /** end the stream telling the client to reconnect elsewhere (process shutting down) */
  shutdown(): void;
}

/**
 * Every open SSE/WebSocket stream of this process: one shared keepalive timer for all of them (no timer
 * per client), the open-streams gauge, and closeAll() for shutdown.
 */
export interface StreamRegistry {
  add(s: OpenStream): () => void;
  size(): number;
  /** shut every stream down; resolves once all have unregistered or after `graceMs` */
  closeAll(graceMs: number): Promise<void>;
}

export function createStreamRegistry(opts: { pingMs: number; metrics: Pick<Metrics, 'openStreams'> }): StreamRegistry {
  const open = new Set<OpenStream>();
  let timer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;
  const ensureTimer = () => {
    if (timer || open.size === 0) return;
    timer = setInterval(() => { for (const s of open) s.ping(); }, opts.pingMs);
    timer.unref();
  };
  return {
    add(s) {
      open.add(s);
      opts.metrics.openStreams.inc({ transport: s.transport });
      ensureTimer();
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        open.delete(s);
        opts.metrics.openStreams.dec({ transport: s.transport });
        if (open.size === 0) {
          clearInterval(timer);
          timer = undefined;
          drained?.();
        }
      };
    },
    size: () => open.size,
    async closeAll(graceMs) {
      if (open.size === 0) return;
      const done = new Promise<void>((resolve) => { drained = resolve; });
      for (const s of [...open]) s.shutdown();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => { t = setTimeout(resolve, graceMs); })]);
      clearTimeout(t);
    },
  };
}
