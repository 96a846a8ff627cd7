import type { Knex } from 'knex';

/**
 * Mailbox creation budgets per plan (a fixed window): how many mailboxes one API key of the plan may create
 * per `create_budget_window_s` seconds; for the `anonymous` plan, how many one client IP may create without
 * a credential. The shipped plans get their values here (seeding never overwrites a row); any other plan
 * keeps the per-key budget that applied to every key before (120 a minute), which is also the column
 * default for plans inserted later without these columns.
 */
const SHIPPED: Record<string, [points: number, windowS: number]> = {
  anonymous: [20, 3600],
  free: [600, 60],
  pro: [3000, 60],
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.integer('create_budget_points').notNullable().defaultTo(120);
    t.integer('create_budget_window_s').notNullable().defaultTo(60);
  });
  for (const [id, [points, windowS]] of Object.entries(SHIPPED)) {
    await knex('plans').where({ id }).update({ create_budget_points: points, create_budget_window_s: windowS });
  }
  await knex.raw(
    'alter table plans add constraint plans_create_budget_check check (create_budget_points > 0 and create_budget_window_s > 0)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.dropChecks(['plans_create_budget_check']);
    t.dropColumn('create_budget_points');
    t.dropColumn('create_budget_window_s');
  });
}
