import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Middleware } from 'koa';
import { basicAuth, type BasicCredentials } from './basic-auth.js';
import { toBoardJobData } from './board-job-view.js';

export const ADMIN_BASE_PATH = '/admin/queues';

export interface AdminBoardSettings {
  /** ADMIN_USER/ADMIN_PASSWORD; without them the board is not mounted */
  admin: BasicCredentials | undefined;
  /** ADMIN_BOARD_ACTIONS: retry, clean and promote allowed; otherwise the board is read-only */
  adminActions: boolean;
}

/** The changes ADMIN_BOARD_ACTIONS allows (PUT, under the base path): retry, clean and promote, of a queue or a job. */
const ACTION = /^\/api\/queues\/[^/]+\/(?:retry\/[^/]+|clean\/[^/]+|promote|[^/]+\/(?:retry|clean|promote))$/;
const READS = new Set(['GET', 'HEAD']);

/** One line for the start banner and the web role's start log: whether the board is on, and how to change that. */
export function describeAdminBoard(s: AdminBoardSettings, baseUrl = ''): string {
  if (!s.admin) return `off (set ADMIN_USER and ADMIN_PASSWORD to serve it at ${baseUrl}${ADMIN_BASE_PATH})`;
  return `at ${baseUrl}${ADMIN_BASE_PATH} (HTTP Basic, ADMIN_USER; ${
    s.adminActions
      ? 'retry/clean/promote enabled by ADMIN_BOARD_ACTIONS'
      : 'read-only: ADMIN_BOARD_ACTIONS=true enables retry/clean/promote'
  }; job data shows ids, sizes and the envelope only)`;
}

/** Refuse every change the settings do not allow, before Bull Board sees the request. */
const actionGuard =
  (adminActions: boolean): Middleware =>
  async (ctx, next) => {
    if (READS.has(ctx.method)) {
      await next();
      return;
    }
    const action = ctx.method === 'PUT' && ACTION.test(ctx.path.slice(ADMIN_BASE_PATH.length));
    if (adminActions && action) {
      await next();
      return;
    }
    ctx.status = 403;
    ctx.body = {
      error: adminActions
        ? {
            code: 'board_action_not_allowed',
            message: 'Bull Board allows retry, clean and promote only',
            request_id: ctx.state.requestId,
          }
        : {
            code: 'board_read_only',
            message: 'Bull Board is read-only; ADMIN_BOARD_ACTIONS=true enables retry, clean and promote',
            request_id: ctx.state.requestId,
          },
    };
  };

/** A queue as the board sees it: read-only unless actions are enabled, job data reduced to ids, sizes and the envelope. */
function boardQueue(queue: Queue, adminActions: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, { readOnlyMode: !adminActions, allowRetries: adminActions });
  adapter.setFormatter('data', toBoardJobData);
  return adapter;
}

/**
 * Bull Board for every queue, behind HTTP Basic. Without credentials it is not mounted at all
 * (the path answers 404 like any unknown route): the board is never open.
 */
export function adminBoard(queues: Queue[], settings: AdminBoardSettings): Middleware | undefined {
  const { admin, adminActions } = settings;
  if (!admin) return undefined;
  const adapter = new KoaAdapter();
  adapter.setBasePath(ADMIN_BASE_PATH);
  createBullBoard({ queues: queues.map((q) => boardQueue(q, adminActions)), serverAdapter: adapter });
  const guard = basicAuth(admin, 'Mailwright admin');
  const allowed = actionGuard(adminActions);
  const board = adapter.registerPlugin() as Middleware;
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_BASE_PATH && !ctx.path.startsWith(`${ADMIN_BASE_PATH}/`)) {
      await next();
      return;
    }
    await guard(ctx, async () => {
      await allowed(ctx, async () => {
        await board(ctx, next);
      });
    });
  };
}
