import { PassThrough } from 'node:stream';
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
  const out = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
  ctx.type = 'text/event-stream';
  ctx.status = 200;
  ctx.body = out;
  out.write(`retry: 2000\n: connected\n\n`);
  const close = openStream(deps, {
    mailbox,
    principal,
    since,
    sink: {
      transport: 'sse',
      send: (f) => { if (!out.writableEnded) out.write(sseFrame(f)); },
      ping: () => { if (!out.writableEnded) out.write(': ping\n\n'); },
      buffered: () => out.writableLength + (ctx.res.socket?.writableLength ?? 0),
      end: (reason) => {
        if (out.writableEnded) return;
        const bye = FAREWELL[reason];
        if (bye) out.write(bye);
        out.end();
      },
    },
  });
  ctx.res.once('close', close);
  out.once('error', close);
};
