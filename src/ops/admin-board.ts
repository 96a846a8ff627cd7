import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Middleware } from 'koa';
import { basicAuth, type BasicCredentials } from './basic-auth.js';

export const ADMIN_BASE_PATH = '/admin/queues';

/**
 * Bull Board for every queue, behind HTTP Basic. Without credentials it is not mounted at all
 * (the path answers 404 like any unknown route): the board is never open.
 */
export function adminBoard(queues: Queue[], admin: BasicCredentials | undefined): Middleware | undefined {
  if (!admin) return undefined;
  const adapter = new KoaAdapter();
  adapter.setBasePath(ADMIN_BASE_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  const guard = basicAuth(admin, 'Mailwright admin');
  const board = adapter.registerPlugin() as Middleware;
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_BASE_PATH && !ctx.path.startsWith(`${ADMIN_BASE_PATH}/`)) { await next(); return; }
    await guard(ctx, async () => { await board(ctx, next); });
  };
}
