/**
 * The time limits of SMTP sessions (slowloris). SMTP_SOCKET_TIMEOUT_MS is an idle timeout that any byte resets,
 * so a client trickling bytes would keep its session (and the message collected so far) forever. Every session
 * gets a timer for `maxSessionMs` from its connect, and every DATA one for `maxDataMs` from the 354 to the final
 * dot; the session's close clears them. A limit reached mid-DATA abandons the message (its collection is aborted:
 * no 250, no job); a limit reached while a fully received message is being enqueued waits until that message has
 * its reply (250 or 451), then the session ends.
 */

/** Where a session's transaction is: between transactions or in the envelope, receiving DATA, or enqueueing. */
export type SessionPhase = 'command' | 'data' | 'reply';
export type SessionLimit = 'session' | 'data';

export interface TimeLimitReached {
  limit: SessionLimit;
  phase: SessionPhase;
  /** time since the session started */
  ageMs: number;
}

/** The clock a session's DATA runs on, from the 354 to the reply. */
export interface DataClock {
  /** aborted when a limit is reached before the message was fully received */
  signal: AbortSignal;
  /** the final dot: the DATA limit stops, the message is being enqueued */
  received(): void;
  /** call after the reply to the DATA was given: a limit reached meanwhile now ends the session */
  replied(): void;
}

/** Timers, injectable so the clock can be tested without waiting. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface SessionClockOptions<S> {
  maxSessionMs: number;
  maxDataMs: number;
  /** a limit was reached: send the 421 and close the session (called at most once per session) */
  onLimit: (session: S, reached: TimeLimitReached) => void;
  timers?: Timers;
}

export interface SessionClocks<S> {
  /** onConnect: the session limit starts */
  open(session: S): void;
  /** onClose: every timer of the session is cleared; false if the session was never opened */
  close(session: S): boolean;
  /** onData: the DATA limit starts */
  data(session: S): DataClock;
}

interface Clock {
  startedAt: number;
  session: unknown;
  data?: unknown;
  phase: SessionPhase;
  /** aborts the collection of the message being received */
  abort?: AbortController;
  /** which limit was reached; in the 'reply' phase the 421 waits until the message has its reply */
  expired?: SessionLimit;
  /** onLimit was called */
  ended?: boolean;
}

export function createSessionClocks<S extends { id: string }>(opts: SessionClockOptions<S>): SessionClocks<S> {
  const timers = opts.timers ?? realTimers;
  const clocks = new Map<string, Clock>();

  const end = (session: S, clock: Clock) => {
    clock.ended = true;
    clock.abort?.abort();
    opts.onLimit(session, { limit: clock.expired!, phase: clock.phase, ageMs: timers.now() - clock.startedAt });
  };
  const expire = (session: S, clock: Clock, limit: SessionLimit) => {
    timers.clear(clock.session);
    timers.clear(clock.data);
    if (clock.expired) return;
    clock.expired = limit;
    // a message fully received is being enqueued: it gets its reply (250 or 451) first, then the 421
    if (clock.phase !== 'reply') end(session, clock);
  };

  return {
    open(session) {
      const clock: Clock = { startedAt: timers.now(), phase: 'command', session: undefined };
      clock.session = timers.set(() => expire(session, clock, 'session'), opts.maxSessionMs);
      clocks.set(session.id, clock);
    },
    close(session) {
      const clock = clocks.get(session.id);
      if (!clock) return false;
      timers.clear(clock.session);
      timers.clear(clock.data);
      clocks.delete(session.id);
      return true;
    },
    data(session) {
      const abort = new AbortController();
      const clock = clocks.get(session.id);
      if (!clock) return { signal: abort.signal, received: () => undefined, replied: () => undefined };
      clock.phase = 'data';
      clock.abort = abort;
      clock.data = timers.set(() => expire(session, clock, 'data'), opts.maxDataMs);
      return {
        signal: abort.signal,
        received() {
          timers.clear(clock.data);
          if (!clock.expired) clock.phase = 'reply';
        },
        replied() {
          timers.clear(clock.data);
          clock.phase = 'command';
          clock.abort = undefined;
          // the session limit was reached while this message was being enqueued: its reply is out, now the 421
          if (clock.expired && !clock.ended) end(session, clock);
        },
      };
    },
  };
}
