import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { once } from 'node:events';

/** A loopback TCP proxy a test can cut and restore, to make a dependency unreachable without touching it. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  let up = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!up) { client.destroy(); return; }
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => s.destroy()); }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref(); // never keeps a test process alive
  return {
    port: (server.address() as AddressInfo).port,
    /** drop every open connection and refuse new ones */
    cut() { up = false; for (const s of sockets) s.destroy(); },
    restore() { up = true; },
    async close() { up = false; for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); },
  };
}
