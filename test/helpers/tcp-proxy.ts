import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback TCP proxy to a shared service, so a test can cut its own connection to Postgres or Redis
 * (refused, like a dead server) and restore it, without touching the service everyone else uses.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => s.destroy()); }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref(); // never keeps a test process alive
  const port = (server.address() as AddressInfo).port;
  let open = true;
  return {
    port,
    /** refuse new connections and drop the existing ones */
    async cut() {
      if (!open) return;
      open = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    /** accept connections again on the same port */
    async restore() {
      if (open) return;
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      open = true;
    },
    async close() { await this.cut(); },
  };
}
