import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthDeps } from '../access/principal.js';
import { errorBody, requestIdOf } from '../core/error-body.js';
import { AppError, NotFound } from '../core/errors.js';
import { sseFrame, type EndReason, type StreamFrame } from './frames.js';
import { requestParts, streamAccess } from './access.js';
import { openStream, type StreamDeps, type StreamSink } from './session.js';

const SSE_PATH = /^\/api\/v1\/mailboxes\/([^/]+)\/events$/;

const FAREWELL: Partial<Record<EndReason, string>> = {
  token_revoked: 'event: token_revoked\ndata: {"type":"token_revoked"}\n\n',
  api_key_revoked: 'event: api_key_revoked\ndata: {"type":"api_key_revoked"}\n\n',
  token_expired: 'event: token_expired\ndata: {"type":"token_expired"}\n\n',
  shutdown: 'event: reconnect\ndata: {"type":"reconnect","reason":"shutdown"}\n\n',
  overloaded: 'event: reconnect\ndata: {"type":"reconnect","reason":"overloaded"}\n\n',
  error: 'event: reconnect\ndata: {"type":"reconnect","reason":"error"}\n\n',
};

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new NotFound('mailbox not found', 'mailbox_not_found');
  }
};

/**
 * GET /api/v1/mailboxes/:address/events: Server-Sent Events (cursor as event id, comment pings).
 * Served by the HTTP server ahead of Koa, like the WebSocket upgrade: a Koa context per idle stream
 * would cost memory for as long as the stream lives. Errors are answered as by the API (core/error-body.ts).
 * Returns false for any other request (Koa handles it).
 */
export function sseRequests(deps: StreamDeps & AuthDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = SSE_PATH.exec(url.pathname);
    if (!match || req.method !== 'GET') return false;
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    const { query, get } = requestParts(req, url);
    Promise.resolve()
      .then(() =>
        streamAccess(
          {
            ...deps,
            maxStreams: deps.config.streams.maxPerProcess,
            maxPerCredential: deps.config.streams.maxPerCredential,
          },
          {
            get,
            path: url.pathname,
            query,
            address: decode(match[1]!),
            lastEventId: get('last-event-id') || undefined,
            socket: req.socket,
          },
        ),
      )
      .then((access) => {
        // the slot is freed when the stream ends, and at the latest when the response closes ('close'
        // comes once; `on`, not `once`: once wraps each listener in a bound function the stream keeps)
        res.on('close', access.release);
        if (res.destroyed) return void access.release();
        req.socket.setTimeout(0);
        req.socket.setNoDelay(true);
        streamTo(res, deps, access);
      })
      .catch((err: unknown) => {
        if (!(err instanceof AppError)) deps.log.error({ event: 'stream.sse_failed', err, requestId });
        if (res.headersSent) return void res.destroy();
        const answer = errorBody(err, requestId);
        const body = JSON.stringify(answer.body);
        res.writeHead(answer.status, {
          ...answer.headers,
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(body);
      });
    return true;
  };
}

/** The stream holds the response only (nothing per request beyond what Node keeps). */
function streamTo(res: ServerResponse, deps: StreamDeps, opts: Omit<Parameters<typeof openStream>[1], 'sink'>): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n: connected\n\n');
  const close = openStream(deps, { ...opts, sink: new SseSink(res) });
  res.on('close', close);
  res.on('error', close);
}

/** The SSE side of a stream (a class: its methods are not closures made per stream). */
class SseSink implements StreamSink {
  readonly transport = 'sse';
  constructor(private readonly res: ServerResponse) {}
  private open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }
  send(f: StreamFrame): void {
    if (this.open()) this.res.write(sseFrame(f));
  }
  ping(): void {
    if (this.open()) this.res.write(': ping\n\n');
  }
  buffered(): number {
    return this.res.writableLength;
  }
  end(reason: EndReason): void {
    if (this.open()) this.res.end(FAREWELL[reason]);
  }
}
