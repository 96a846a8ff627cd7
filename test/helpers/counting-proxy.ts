import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy to a test server that counts what passes: the connections open at once (`open`, its
 * highest value `max`, all of them `total`) and the bytes the server sent (`fromServer`).
 */
export async function countingProxy(target: number) {
  const counts = { open: 0, max: 0, total: 0, fromServer: 0 };
  const server = createServer((client) => {
    counts.total++;
    counts.max = Math.max(counts.max, ++counts.open);
    const upstream = connect(target, '127.0.0.1');
    upstream.on('data', (chunk: Buffer) => (counts.fromServer += chunk.length));
    client.pipe(upstream).pipe(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      counts.open--;
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', close);
      s.on('error', close);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, counts, close: () => server.close() };
}
