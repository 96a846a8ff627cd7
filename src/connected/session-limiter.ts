import { ImapBusy } from './errors.js';

/** The seconds a refused caller is told to wait: about one session's turn. */
const RETRY_AFTER_S = 1;

interface Slot {
  active: number;
  waiting: (() => void)[];
}

/**
 * At most `max` IMAP sessions at once per connected mailbox in this process; up to `queueMax` more callers wait in
 * order for a slot (at most `waitMs`); any further one is refused at once with 503 imap_busy and Retry-After.
 * `acquire` resolves to the release function, which must be called exactly once.
 */
export class SessionLimiter {
  private readonly slots = new Map<string, Slot>();
  constructor(
    private readonly max: number,
    private readonly queueMax: number,
    private readonly waitMs: number,
  ) {}

  async acquire(key: string): Promise<() => void> {
    const slot = this.slots.get(key) ?? { active: 0, waiting: [] };
    this.slots.set(key, slot);
    if (slot.active < this.max) {
      slot.active++;
      return this.releaser(key, slot);
    }
    if (slot.waiting.length >= this.queueMax) throw this.busy();
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        slot.waiting.splice(slot.waiting.indexOf(turn), 1);
        reject(this.busy());
      }, this.waitMs);
      slot.waiting.push(turn);
    });
    // the releasing session handed its slot over: `active` is unchanged
    return this.releaser(key, slot);
  }

  private releaser(key: string, slot: Slot): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slot.waiting.shift();
      if (next) return next();
      slot.active--;
      if (slot.active === 0) this.slots.delete(key);
    };
  }

  private busy(): ImapBusy {
    return new ImapBusy(
      `this mailbox already has ${this.max} IMAP sessions open and ${this.queueMax} requests waiting: retry shortly`,
      RETRY_AFTER_S,
    );
  }
}
