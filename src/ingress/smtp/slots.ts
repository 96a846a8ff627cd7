/**
 * Who gets one of the SMTP_MAX_CLIENTS sessions (issue 24: idle connections from one address locked every
 * sender out). Three rules, checked in this order when a client connects:
 * 1. one address holds at most `maxPerAddress` sessions at once (SMTP_MAX_CLIENTS_PER_IP);
 * 2. the last `reserved` sessions (SMTP_RESERVED_CLIENTS_PERCENT of SMTP_MAX_CLIENTS) go only to an address that
 *    holds none yet, so a new, well-behaved client still gets a session while others hold theirs;
 * 3. when every session is taken, the idlest one (longest since its last reply; never one receiving or
 *    enqueueing a message) is closed to make room, if it has been idle at least `evictIdleMs`
 *    (SMTP_EVICT_IDLE_MS); otherwise the new client is refused.
 * Pure bookkeeping: the caller sends the replies and closes the evicted session (server.ts).
 */

export interface SlotOptions {
  maxClients: number;
  maxPerAddress: number;
  reserved: number;
  evictIdleMs: number;
  now?: () => number;
}

export type Refusal = 'per_address' | 'reserved' | 'full';

export type Admission =
  | { ok: true; evicted?: { id: string; address: string; idleMs: number } }
  | { ok: false; reason: Refusal; held: number };

interface Slot {
  address: string;
  lastActive: number;
  /** receiving DATA or waiting for its enqueue: never evicted */
  busy: boolean;
}

export interface Slots {
  /** a new session from `address`: admitted (maybe at the cost of an evicted one, already released) or refused */
  admit(id: string, address: string): Admission;
  /** the session ended (idempotent) */
  release(id: string): void;
  /** the session got a reply: it is not idle */
  touch(id: string): void;
  /** the session is receiving or enqueueing a message (true) or back between commands (false) */
  busy(id: string, busy: boolean): void;
  /** sessions held, in all or by one address */
  held(address?: string): number;
}

export function createSlots(opts: SlotOptions): Slots {
  const now = opts.now ?? Date.now;
  const slots = new Map<string, Slot>();
  const perAddress = new Map<string, number>();
  const held = (address?: string) => (address === undefined ? slots.size : (perAddress.get(address) ?? 0));

  const release = (id: string) => {
    const slot = slots.get(id);
    if (!slot) return;
    slots.delete(id);
    const n = (perAddress.get(slot.address) ?? 1) - 1;
    if (n > 0) perAddress.set(slot.address, n);
    else perAddress.delete(slot.address);
  };

  /** the idle session that has waited longest, if it waited at least evictIdleMs */
  const idlest = () => {
    let found: [string, Slot] | undefined;
    for (const entry of slots) {
      if (entry[1].busy) continue;
      if (!found || entry[1].lastActive < found[1].lastActive) found = entry;
    }
    if (!found || now() - found[1].lastActive < opts.evictIdleMs) return undefined;
    return found;
  };

  return {
    admit(id, address) {
      const mine = held(address);
      if (mine >= opts.maxPerAddress) return { ok: false, reason: 'per_address', held: mine };
      if (mine > 0 && slots.size >= opts.maxClients - opts.reserved)
        return { ok: false, reason: 'reserved', held: mine };
      let evicted: { id: string; address: string; idleMs: number } | undefined;
      if (slots.size >= opts.maxClients) {
        const victim = idlest();
        if (!victim) return { ok: false, reason: 'full', held: mine };
        evicted = { id: victim[0], address: victim[1].address, idleMs: now() - victim[1].lastActive };
        release(victim[0]);
      }
      slots.set(id, { address, lastActive: now(), busy: false });
      perAddress.set(address, mine + 1);
      return evicted ? { ok: true, evicted } : { ok: true };
    },
    release,
    touch(id) {
      const slot = slots.get(id);
      if (slot) slot.lastActive = now();
    },
    busy(id, busy) {
      const slot = slots.get(id);
      if (!slot) return;
      slot.busy = busy;
      slot.lastActive = now();
    },
    held,
  };
}
