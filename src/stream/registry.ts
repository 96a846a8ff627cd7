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
 * per client), the open-streams gauge, closeAll() for shutdown, and the stream slots that cap how many
 * may be open (per process and per credential).
 */
export interface StreamRegistry {
  add(s: OpenStream): () => void;
  size(): number;
  /**
   * Take a stream slot: one of the process's `perProcess` and one of the credential's `perCredential`
   * (both counted in this process only), or neither. Synchronous, so check and take happen in one step:
   * no concurrent open can pass the same check before this one is counted. Returns the idempotent release,
   * or which cap is full (the process's is checked first).
   */
  reserve(
    credential: CredentialKey,
    limits: { perProcess: number; perCredential: number },
  ): { release: () => void } | { full: 'process' | 'credential' };
  /** slots held in this process: streams open and streams being opened (authenticated, not yet registered) */
  held(): number;
  /** slots the credential holds in this process */
  heldBy(credential: CredentialKey): number;
  /** shut every stream down; resolves once all have unregistered or after `graceMs` */
  closeAll(graceMs: number): Promise<void>;
}

export function createStreamRegistry(opts: { pingMs: number; metrics: Pick<Metrics, 'openStreams'> }): StreamRegistry {
  const open = new Set<OpenStream>();
  const slots = new Map<CredentialKey, number>();
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;
  const ensureTimer = () => {
    if (timer || open.size === 0) return;
    timer = setInterval(() => {
      for (const s of open) s.ping();
    }, opts.pingMs);
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
    reserve(credential, limits) {
      if (total >= limits.perProcess) return { full: 'process' };
      const held = slots.get(credential) ?? 0;
      if (held >= limits.perCredential) return { full: 'credential' };
      total += 1;
      slots.set(credential, held + 1);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          total -= 1;
          const n = (slots.get(credential) ?? 1) - 1;
          if (n > 0) slots.set(credential, n);
          else slots.delete(credential);
        },
      };
    },
    held: () => total,
    heldBy: (credential) => slots.get(credential) ?? 0,
    async closeAll(graceMs) {
      if (open.size === 0) return;
      const done = new Promise<void>((resolve) => {
        drained = resolve;
      });
      for (const s of [...open]) s.shutdown();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => {
          t = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(t);
    },
  };
}
