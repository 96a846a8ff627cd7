import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuthDeps } from '../access/principal.js';
import { errorBody, requestIdOf } from '../core/error-body.js';
import { AppError, NotFound } from '../core/errors.js';
import { WS_CLOSE, type EndReason, type StreamFrame } from './frames.js';
import { requestParts, streamAccess } from './access.js';
import { openStream, type StreamDeps, type StreamSink } from './session.js';

const WS_PATH = /^\/api\/v1\/mailboxes\/([^/]+)\/ws$/;
const PING = JSON.stringify({ type: 'ping' });
/** a peer that does not answer our close frame is cut off after this */
const CLOSE_GRACE_MS = 1_000;

function refuse(socket: Duplex, err: unknown, requestId: string): void {
  const answer = errorBody(err, requestId);
  const body = JSON.stringify(answer.body);
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nX-Request-Id: ${requestId}\r\n` +
      // header values are ours (RateLimit-*, Retry-After: digits and names), never request data
      Object.entries(answer.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new NotFound('mailbox not found', 'mailbox_not_found');
  }
};

/**
 * WebSocket streams on the web role's HTTP server (noServer upgrade). Authentication and the mailbox
 * check happen BEFORE the upgrade, so a bad credential is an HTTP 401 response, never an open socket.
 * Upgrades to any other path are destroyed.
 */
export function attachWebSockets(server: Server, deps: StreamDeps & AuthDeps): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024, perMessageDeflate: false });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = WS_PATH.exec(url.pathname);
    if (!match || req.method !== 'GET') {
      socket.destroy();
      return;
    }
    // a module-level listener: a closure made here would keep this scope (the request, its URL and
    // headers, the head buffer) alive for as long as the socket lives (memory per idle stream: see docs/benchmarks/README.md)
    socket.on('error', destroySocket);
    const { query, get } = requestParts(req, url);
    Promise.resolve()
      .then(() =>
        streamAccess(
          {
            ...deps,
            maxStreams: deps.config.streams.maxPerProcess,
            maxPerCredential: deps.config.streams.maxPerCredential,
          },
          { get, path: url.pathname, query, address: decode(match[1]!), socket: req.socket },
        ),
      )
      .then((access) => {
        // the slot is freed when the stream ends, and at the latest when the socket closes (also when
        // handleUpgrade rejects the handshake without calling back)
        socket.on('close', access.release); // 'close' comes once; `once` would keep a bound wrapper
        if (socket.destroyed) return void access.release();
        wss.handleUpgrade(req, socket, head, (ws: WebSocket) => streamTo(ws, deps, access));
      })
      .catch((err: unknown) => {
        const requestId = requestIdOf(get('x-request-id'));
        if (!(err instanceof AppError)) deps.log.error({ event: 'stream.upgrade_failed', err, requestId });
        refuse(socket, err, requestId);
      });
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      wss.close();
    },
  };
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** The stream holds the WebSocket and what streamAccess returned, never the upgrade request. */
function streamTo(ws: WebSocket, deps: StreamDeps, access: Omit<Parameters<typeof openStream>[1], 'sink'>): void {
  const sink = new WsSink(ws);
  const close = openStream(deps, { ...access, sink });
  ws.on('message', ignore); // clients have nothing to say; maxPayload bounds them
  ws.on('error', terminateWebSocket);
  ws.on('close', () => {
    sink.closed();
    close();
  }); // 'close' comes once
}

function ignore(): void {}

function terminateWebSocket(this: WebSocket): void {
  this.terminate();
}

/** The WebSocket side of a stream (a class: its methods are not closures made per stream). */
class WsSink implements StreamSink {
  readonly transport = 'ws';
  private killer: NodeJS.Timeout | undefined;
  constructor(private readonly ws: WebSocket) {}
  send(f: StreamFrame): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(f));
  }
  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(PING);
  }
  buffered(): number {
    return this.ws.bufferedAmount;
  }
  end(reason: EndReason): void {
    if (reason === 'client_gone' || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.close(WS_CLOSE[reason], reason);
    const ws = this.ws;
    this.killer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    this.killer.unref();
  }
  /** the socket closed: a peer cut off after our close frame needs no more cutting */
  closed(): void {
    clearTimeout(this.killer);
  }
}
