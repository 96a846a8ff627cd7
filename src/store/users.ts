import type { Db } from './db.js';

export interface User {
  id: string;
  email: string | null;
  planId: string;
  createdAt: Date;
}

export interface UserStore {
  create(u: { email: string | null; planId: string }): Promise<User>;
  findById(id: string): Promise<User | undefined>;
}

const toUser = (r: { id: string; email: string | null; plan_id: string; created_at: Date }): User => ({
  id: r.id,
  email: r.email,
  planId: r.plan_id,
  createdAt: r.created_at,
});

export function userStore(db: Db): UserStore {
  return {
    async create(u) {
      const [row] = await db('users').insert({ email: u.email, plan_id: u.planId }).returning('*');
      return toUser(row);
    },
    async findById(id) {
      const row = await db('users').where({ id }).first();
      return row ? toUser(row) : undefined;
    },
  };
}
