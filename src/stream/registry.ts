import type { Metrics } from '../ops/metrics.js';
import type { CredentialKey } from './credential.js';

export type Transport = 'sse' | 'ws';

export interface OpenStream {
  transport: Transport;
  ping(): void;
  /** end the stream telling the client to reconnect elsewhere (process shutting down) */
  shutdown(): void;
}

/**
 * Every open SSE/WebSocket stream of this process: one shared keepalive timer for all of them (no timer
 * per client), the open-streams gauge, closeAll() for shutdown, and the per-credential stream slots.
 */
export interface StreamRegistry {
  add(s: OpenStream): () => void;
  size(): number;
  /**
   * Take one of `max` stream slots of this credential (counted in this process only). Synchronous, so
   * two concurrent opens cannot both take the last slot. Returns the idempotent release, or undefined
   * when the credential already holds `max`.
   */
  reserve(credential: CredentialKey, max: number): (() => void) | undefined;
  /** slots the credential holds in this process */
  heldBy(credential: CredentialKey): number;
  /** shut every stream down; resolves once all have unregistered or after `graceMs` */
  closeAll(graceMs: number): Promise<void>;
}

export function createStreamRegistry(opts: { pingMs: number; metrics: Pick<Metrics, 'openStreams'> }): StreamRegistry {
  const open = new Set<OpenStream>();
  const slots = new Map<CredentialKey, number>();
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
    reserve(credential, max) {
      const held = slots.get(credential) ?? 0;
      if (held >= max) return undefined;
      slots.set(credential, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (slots.get(credential) ?? 1) - 1;
        if (n > 0) slots.set(credential, n);
        else slots.delete(credential);
      };
    },
    heldBy: (credential) => slots.get(credential) ?? 0,
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
