import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback TCP proxy to a shared service, so a test can break its own connection to Postgres or Redis
 * without touching the service everyone else uses.
 * - cut()/restore(): the port refuses connections, like a dead server (async: closes/re-opens the listener);
 * - break()/restore(): connections are accepted and dropped at once (sync);
 * - hold()/release(): connections stay open but what clients send is held back, then forwarded in order
 *   (a server that stopped answering, then answers).
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  break(): void;
  restore(): Promise<void>;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let broken = false;
  let listening = true;
  let held: Array<[Socket, Buffer]> | undefined;
  const server = createServer((client) => {
    if (broken) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', (chunk: Buffer) => {
      if (held) held.push([upstream, chunk]);
      else upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref(); // never keeps a test process alive
  const port = (server.address() as AddressInfo).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };
  const proxy: TcpProxy = {
    port,
    async cut() {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
    break() {
      broken = true;
      dropAll();
    },
    hold() {
      held ??= [];
    },
    release() {
      const chunks = held ?? [];
      held = undefined;
      for (const [upstream, chunk] of chunks) if (!upstream.destroyed) upstream.write(chunk);
    },
    async restore() {
      broken = false;
      if (listening) return;
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      listening = true;
    },
    async close() {
      broken = true;
      await proxy.cut();
    },
  };
  return proxy;
}
