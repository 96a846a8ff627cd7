import { WebSocket } from 'ws';

/** Frames received in order, with "wait for the next one matching" (bounded by a deadline, never a sleep). */
class Inbox<T> {
  readonly all: T[] = [];
  private read = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  push(f: T) {
    this.all.push(f);
    this.wake();
  }
  close() {
    this.closed = true;
    this.wake();
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Next frame (after the last one returned) that matches; frames skipped over stay in `all`. */
  async next(match: (f: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      while (this.read < this.all.length) {
        const f = this.all[this.read++]!;
        if (match(f)) return f;
      }
      if (this.closed) throw new Error(`stream closed; frames: ${JSON.stringify(this.all)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.all)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  /** resolves when the stream has ended */
  async ended(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`stream still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export interface SseEvent {
  event: string;
  id?: string;
  data?: any;
  comment?: string;
}

/** A fetch-based Server-Sent Events client (what a script without EventSource would write). */
export async function openSse(url: string, opts: { token?: string; lastEventId?: string } = {}) {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
  const res = await fetch(url, { headers, signal: abort.signal });
  const inbox = new Inbox<SseEvent>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let i: number;
          while ((i = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const e: SseEvent = { event: 'message' };
            let data: string | undefined;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) {
                e.comment = line.slice(1).trim();
                e.event = 'comment';
              } else if (line.startsWith('event: ')) e.event = line.slice(7);
              else if (line.startsWith('id: ')) e.id = line.slice(4);
              else if (line.startsWith('data: ')) data = (data === undefined ? '' : data + '\n') + line.slice(6);
            }
            if (data !== undefined) e.data = JSON.parse(data);
            if (e.event !== 'message' || data !== undefined) inbox.push(e);
          }
        }
      } catch {
        /* aborted */
      }
      inbox.close();
    })();
  } else {
    inbox.close();
  }
  return {
    status: res.status,
    headers: res.headers,
    body: (res.ok ? undefined : await res.json().catch(() => undefined)) as any,
    inbox,
    next: (match?: (e: SseEvent) => boolean, timeoutMs?: number) => inbox.next(match, timeoutMs),
    close: () => abort.abort(),
  };
}

export interface WsClient {
  ws: WebSocket;
  inbox: Inbox<any>;
  closeCode?: number;
  closeReason?: string;
  next(match?: (f: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

/** A real `ws` client; resolves once open, or rejects with the HTTP status the upgrade was refused with. */
export function openWs(
  url: string,
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    });
    const inbox = new Inbox<any>();
    const client: WsClient = {
      ws,
      inbox,
      next: (match, timeoutMs) => inbox.next(match, timeoutMs),
      close: () => ws.close(),
    };
    ws.on('message', (d) => inbox.push(JSON.parse((d as Buffer).toString())));
    ws.on('close', (code, reason) => {
      client.closeCode = code;
      client.closeReason = reason.toString();
      inbox.close();
    });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        req.destroy();
        reject(
          Object.assign(new Error(`upgrade refused: ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
            body: body ? JSON.parse(body) : undefined,
          }),
        );
      });
    });
    ws.on('error', (err) => reject(err));
    ws.once('open', () => resolve(client));
  });
}

export const wsUrl = (baseUrl: string, path: string) => baseUrl.replace(/^http/, 'ws') + path;
