import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app.js';
import { createTokenSigner } from '../access/tokens.js';
import type { Deps } from '../container.js';
import { once } from '../core/shutdown.js';
import type { SnsFetch } from '../ingress/ses/sns-verifier.js';
import { operatorMounts } from '../ops/mounts.js';

export interface WebRole { server: Server; port: number; close: () => Promise<void> }

/** HTTP API on config.http (port 0 = any free port, for tests). */
export async function startWeb(deps: Deps, opts: { tokenSecret: string; snsFetch?: SnsFetch }): Promise<WebRole> {
  const signer = createTokenSigner(opts.tokenSecret);
  const app = createApp({ ...deps, plans: deps.stores.plans, signer, snsFetch: opts.snsFetch }, operatorMounts(deps));
  const server = createServer(app.callback());
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.http.port, deps.config.http.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  deps.log.info({ event: 'web.listening', host: deps.config.http.host, port });
  return {
    server,
    port,
    close: once(async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2_000);
      force.unref();
      await closed;
      clearTimeout(force);
    }),
  };
}
