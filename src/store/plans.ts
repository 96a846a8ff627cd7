import type { Db } from './db.js';

export interface Plan {
  id: string;
  name: string;
  defaultTtlMinutes: number;
  maxTtlMinutes: number;
  maxMessagesPerMailbox: number;
  maxMessageBytes: number;
  maxActiveMailboxes: number | null;
  /** connected mailboxes one user of the plan may hold (null = unlimited) */
  maxConnectedMailboxes: number | null;
  /** mailbox creations per window: per API key of the plan (the `anonymous` plan: per client IP) */
  createBudget: { points: number; windowS: number };
  /** outbound recipients accepted per rolling 24 h, per owner (null = unlimited, 0 = sending not allowed) */
  maxSendsPerDay: number | null;
}

interface PlanRow {
  id: string;
  name: string;
  default_ttl_minutes: number;
  max_ttl_minutes: number;
  max_messages_per_mailbox: number;
  max_message_bytes: number;
  max_active_mailboxes: number | null;
  max_connected_mailboxes: number | null;
  create_budget_points: number;
  create_budget_window_s: number;
  max_sends_per_day: number | null;
}

const toPlan = (r: PlanRow): Plan => ({
  id: r.id,
  name: r.name,
  defaultTtlMinutes: r.default_ttl_minutes,
  maxTtlMinutes: r.max_ttl_minutes,
  maxMessagesPerMailbox: r.max_messages_per_mailbox,
  maxMessageBytes: r.max_message_bytes,
  maxActiveMailboxes: r.max_active_mailboxes,
  maxConnectedMailboxes: r.max_connected_mailboxes,
  createBudget: { points: r.create_budget_points, windowS: r.create_budget_window_s },
  maxSendsPerDay: r.max_sends_per_day ?? null,
});

export interface PlanStore {
  get(id: string): Promise<Plan | undefined>;
  all(): Promise<Plan[]>;
}

/** Plans live in rows; a short in-process cache keeps them off the hot path (`PLAN_CACHE_MS`). */
export function planStore(db: Db, cacheMs = 0, now: () => number = Date.now): PlanStore {
  let cache: { at: number; plans: Map<string, Plan> } | undefined;
  const load = async () => {
    if (cache && now() - cache.at < cacheMs) return cache.plans;
    const rows: PlanRow[] = await db('plans').select('*');
    cache = { at: now(), plans: new Map(rows.map((r) => [r.id, toPlan(r)])) };
    return cache.plans;
  };
  return {
    async get(id) {
      return (await load()).get(id);
    },
    async all() {
      return [...(await load()).values()];
    },
  };
}
