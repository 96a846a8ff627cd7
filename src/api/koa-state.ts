import type { Decision } from '../access/rate-limit.js';
import type { Principal } from '../access/principal.js';

// What the HTTP middleware puts on `ctx.state` (Koa types it as `any`): the request id (set first, by the request
// log), the principal (set by `authentication`, before any route runs) and the rate-limit decisions of the request.
declare module 'koa' {
  interface DefaultState {
    requestId: string;
    principal: Principal;
    rateLimits?: Decision[];
  }
}
