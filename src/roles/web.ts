import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app.js';
import { answerClientError } from '../api/client-error.js';
import { createTokenSigner } from '../access/tokens.js';
import type { KeyRing } from '../core/secret-box.js';
import type { RoleDeps } from './deps.js';
import { listen } from '../core/listen.js';
import { once } from '../core/shutdown.js';
import type { SnsFetch } from '../ingress/ses/sns-verifier.js';
import { describeAdminBoard } from '../ops/admin-board.js';
import { operatorMounts } from '../ops/mounts.js';
import type { MoreMetrics } from '../ops/metrics-route.js';
import { subscribeToMailEvents } from '../pubsub/subscriber.js';
import { createHub, type Hub } from '../stream/hub.js';
import { createStreamRegistry, type StreamRegistry } from '../stream/registry.js';
import { sseRequests } from '../stream/sse.js';
import { attachWebSockets } from '../stream/websocket.js';
import { streamRateLimits } from '../access/request-limits.js';
import { connectedInbox } from '../connected/inbox-feed.js';
import { resolveTrackingSecret } from '../access/secret.js';

export interface WebRole {
  server: Server;
  port: number;
  streams: { hub: Hub; registry: StreamRegistry };
  close: () => Promise<void>;
}

/** HTTP API on config.http (port 0 = any free port, for tests). */
export async function startWeb(
  deps: RoleDeps,
  opts: {
    tokenSecret: string;
    /** seals connected mailboxes' passwords; undefined: connected mailboxes are off (501 connected_disabled) */
    credentials?: KeyRing;
    snsFetch?: SnsFetch;
    moreMetrics?: MoreMetrics;
  },
): Promise<WebRole> {
  const signer = createTokenSigner(opts.tokenSecret);
  // ONE Redis subscriber connection per web process, shared by every stream and wait; it subscribes the
  // channels of the mailboxes the hub has listeners for
  // eslint-disable-next-line prefer-const -- declared before the subscription whose callback reads it (no TDZ error)
  let hub: Hub | undefined;
  const subscription = await subscribeToMailEvents(
    deps.config,
    deps.log.child({ component: 'pubsub' }),
    (e) => hub?.dispatch(e),
    (n) => deps.metrics.mailboxChannels.set(n),
  );
  hub = createHub(
    (err, e) =>
      deps.log.error({
        event: 'stream.listener_failed',
        type: e.type,
        ...('mailboxId' in e ? { mailboxId: e.mailboxId } : {}),
        err,
      }),
    subscription.channels,
  );
  const registry = createStreamRegistry({ pingMs: deps.config.streams.pingMs, metrics: deps.metrics });
  const streams = { hub, registry };
  const app = createApp(
    {
      ...deps,
      plans: deps.stores.plans,
      signer,
      credentials: opts.credentials,
      snsFetch: opts.snsFetch,
      streams,
      trackingSecret: resolveTrackingSecret(deps.config),
    },
    operatorMounts(deps, opts.moreMetrics),
  );
  const koa = app.callback();
  // SSE and WebSocket streams are served ahead of Koa; their connects count against the API's rate limits
  const rateLimits = streamRateLimits(deps);
  // streams of connected mailboxes replay from IMAP (src/connected: one bridge session per read)
  const connected = connectedInbox({ db: deps.db, config: deps.config, credentials: opts.credentials });
  const sse = sseRequests({ ...deps, signer, hub, registry, rateLimits, connected });
  const server = createServer((req, res) => {
    if (!sse(req, res)) void koa(req, res);
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  const sockets = attachWebSockets(server, { ...deps, signer, hub, registry, rateLimits, connected });
  await listen(server, {
    port: deps.config.http.port,
    host: deps.config.http.host,
    portVariable: 'PORT',
    hostVariable: 'HOST',
  }).catch(async (err: unknown) => {
    await subscription.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  deps.log.info({
    event: 'web.listening',
    host: deps.config.http.host,
    port,
    adminBoard: describeAdminBoard(deps.config.ops),
  });
  return {
    server,
    port,
    streams,
    close: once(async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sockets.close();
      await registry.closeAll(1_500); // streams are told to reconnect (SSE reconnect event, WS 1012)
      await subscription.close();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2_000);
      force.unref();
      await closed;
      clearTimeout(force);
    }),
  };
}
