import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  path: string;
}

/** What the receiver answers to the n-th request (0-based): a status (and headers), or 'hang' (never answers). */
export type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/**
 * A loopback webhook receiver for tests (127.0.0.1 or another 127/8 address, port 0). Records every request;
 * `answer` decides each reply. `inFlight`/`maxInFlight` count requests not yet answered.
 */
export async function startReceiver(answer: (n: number, r: Received) => Answer = () => 200, host = '127.0.0.1') {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const waiters: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        path: req.url ?? '',
      };
      const n = received.length;
      received.push(r);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      for (const w of waiters.splice(0)) w();
      const a = answer(n, r);
      res.on('close', () => inFlight--);
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      const { status, headers = {}, body = 'ok' } = typeof a === 'number' ? { status: a } : a;
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/hook') => `http://${host}:${port}${path}`,
    received,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    /** resolves once `n` requests arrived, or rejects after timeoutMs */
    async waitFor(n: number, timeoutMs = 10_000): Promise<Received[]> {
      const until = Date.now() + timeoutMs;
      while (received.length < n) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`receiver: ${received.length} of ${n} requests within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return received;
    },
    release() {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
