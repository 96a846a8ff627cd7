import type { ServerResponse } from 'node:http';
import type { Context } from 'koa';
import type { AuthDeps } from '../api/auth.js';
import { sseFrame, type EndReason } from './frames.js';
import { streamAccess } from './access.js';
import { openStream, type StreamDeps } from './session.js';

const FAREWELL: Partial<Record<EndReason, string>> = {
  token_revoked: 'event: token_revoked\ndata: {"type":"token_revoked"}\n\n',
  shutdown: 'event: reconnect\ndata: {"type":"reconnect","reason":"shutdown"}\n\n',
  overloaded: 'event: reconnect\ndata: {"type":"reconnect","reason":"overloaded"}\n\n',
  error: 'event: reconnect\ndata: {"type":"reconnect","reason":"error"}\n\n',
};

/** GET /api/v1/mailboxes/:address/events: Server-Sent Events (cursor as event id, comment pings). */
export const sseHandler = (deps: StreamDeps & AuthDeps) => async (ctx: Context & { params: { address: string } }) => {
  const { principal, mailbox, since } = await streamAccess(
    { ...deps, maxStreams: deps.config.streams.maxPerProcess },
    { get: (n) => ctx.get(n), path: ctx.path, query: ctx.query, address: ctx.params.address, lastEventId: ctx.get('last-event-id') || undefined },
  );
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.status = 200;
  ctx.respond = false;
  streamTo(ctx.res, deps, { mailbox, principal, since });
};

/**
 * Write straight to the response (no PassThrough + Koa pipeline per stream), in a function of its own
 * so the stream's closures hold the response only, never the Koa context: an idle SSE subscriber then
 * costs about what a WebSocket one does.
 */
function streamTo(res: ServerResponse, deps: StreamDeps, opts: Omit<Parameters<typeof openStream>[1], 'sink'>): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
  res.write('retry: 2000\n: connected\n\n');
  const open = () => !res.writableEnded && !res.destroyed;
  const close = openStream(deps, {
    ...opts,
    sink: {
      transport: 'sse',
      send: (f) => { if (open()) res.write(sseFrame(f)); },
      ping: () => { if (open()) res.write(': ping\n\n'); },
      buffered: () => res.writableLength,
      end: (reason) => { if (open()) res.end(FAREWELL[reason]); },
    },
  });
  res.once('close', close);
  res.once('error', close);
}
