import { request, Agent } from 'node:http';
import { WebSocket } from 'ws';

export type OnFrame = (frame: any, at: number) => void;

/** A WebSocket subscriber; resolves once the server sent its `ready` frame. */
export function wsSubscriber(base: string, address: string, token: string, onFrame: OnFrame): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/mailboxes/${address}/ws?token=${token}`, {
      perMessageDeflate: false,
    });
    ws.on('message', (d) => {
      const at = performance.now();
      const f = JSON.parse((d as Buffer).toString());
      if (f.type === 'ready') resolve(ws);
      onFrame(f, at);
    });
    ws.once('error', reject);
  });
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

/** An SSE subscriber over a raw http request (light on the client side); resolves on `ready`. */
export function sseSubscriber(
  base: string,
  address: string,
  token: string,
  onFrame: OnFrame,
): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/v1/mailboxes/${address}/events?token=${token}`,
      { agent, headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            const f = JSON.parse(data);
            if (f.type === 'ready') resolve({ close: () => req.destroy() });
            onFrame(f, at);
          }
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
