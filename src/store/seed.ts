import type { Knex } from 'knex';

/**
 * Plans shipped with Mailwright. Seeding never overwrites a row an operator changed. `create_budget_*`: mailbox
 * creations per window, per API key of the plan (for `anonymous`: per client IP, without a credential).
 */
export const DEFAULT_PLANS = [
  {
    id: 'anonymous',
    name: 'Anonymous',
    default_ttl_minutes: 15,
    max_ttl_minutes: 60,
    max_messages_per_mailbox: 100,
    max_message_bytes: 10 * 1024 * 1024,
    max_active_mailboxes: null,
    max_connected_mailboxes: 0,
    create_budget_points: 20,
    create_budget_window_s: 3600,
    // outbound recipients per rolling 24 h, per owner (0: no sending)
    max_sends_per_day: 0,
  },
  {
    id: 'free',
    name: 'Free',
    default_ttl_minutes: 30,
    max_ttl_minutes: 60,
    max_messages_per_mailbox: 500,
    max_message_bytes: 10 * 1024 * 1024,
    max_active_mailboxes: 20,
    max_connected_mailboxes: 3,
    create_budget_points: 600,
    create_budget_window_s: 60,
    // outbound recipients per rolling 24 h, per owner (0: no sending)
    max_sends_per_day: 200,
  },
  {
    id: 'pro',
    name: 'Pro',
    default_ttl_minutes: 60,
    max_ttl_minutes: 7 * 24 * 60,
    max_messages_per_mailbox: 10_000,
    max_message_bytes: 25 * 1024 * 1024,
    max_active_mailboxes: 1_000,
    max_connected_mailboxes: null,
    create_budget_points: 3000,
    create_budget_window_s: 60,
    // outbound recipients per rolling 24 h, per owner (0: no sending)
    max_sends_per_day: 20_000,
  },
] as const;

export async function seed(db: Knex): Promise<string[]> {
  const rows = await db('plans')
    .insert(DEFAULT_PLANS.map((p) => ({ ...p })))
    .onConflict('id')
    .ignore()
    .returning('id');
  return rows.map((r: { id: string }) => r.id);
}
