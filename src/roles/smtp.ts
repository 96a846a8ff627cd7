import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import type { RoleDeps } from './deps.js';
import { resolveBounceSecrets } from '../access/secret.js';
import { listen } from '../core/listen.js';
import { once } from '../core/shutdown.js';
import { drainSmtp } from '../ingress/smtp/drain.js';
import { createSmtpIngress, type SmtpIngressDeps } from '../ingress/smtp/server.js';
import { createDataBudget } from '../ingress/smtp/data-budget.js';
import { redisPersistence } from '../ops/redis-persistence.js';
import { smtpConnectionLimit } from '../ingress/smtp/connection-limit.js';

export interface SmtpRole {
  port: number;
  /** the implicit TLS listener's port (SMTPS_PORT), undefined when it is off */
  smtpsPort?: number;
  close: () => Promise<void>;
}

/**
 * One SMTP listener: the ingress on `port` (`secure`: TLS from the first byte). Its errors are logged once it
 * listens; a listen that fails rejects (a port in use: a StartError naming `variable`).
 */
async function openListener(
  deps: RoleDeps,
  ingress: SmtpIngressDeps,
  port: number,
  portVariable: string,
  secure: boolean,
): Promise<SMTPServer> {
  const server = createSmtpIngress(ingress, secure ? { secure: true } : {});
  let listening = false;
  server.on('error', (err) => {
    if (listening) deps.log.error({ event: 'smtp.error', err });
  });
  await listen(server.server, { port, host: deps.config.smtp.host, portVariable, hostVariable: 'SMTP_HOST' });
  listening = true;
  return server;
}

const closeListener = (server: SMTPServer) => new Promise<void>((resolve) => server.server.close(() => resolve()));
const portOf = (server: SMTPServer) => (server.server.address() as AddressInfo).port;

export async function startSmtp(deps: RoleDeps): Promise<SmtpRole> {
  const persistence = await redisPersistence(deps.redis);
  if (persistence !== 'aof') {
    deps.log.warn({
      event: 'smtp.redis_not_durable',
      persistence,
      hint: 'Redis append-only file is off: an accepted (250) message survives a worker crash but not a Redis restart. Production: appendonly yes, appendfsync everysec or always.',
    });
  }
  let accepting = true;
  const log = deps.log.child({ component: 'smtp' });
  const onConnect = smtpConnectionLimit(deps.config, { redis: deps.redis, log });
  const ingress: SmtpIngressDeps = {
    config: deps.config,
    log,
    inbound: deps.queues,
    metrics: deps.metrics,
    onConnect,
    accepting: () => accepting,
    busy: (w) => deps.pipelining.busy(w),
    bounceSecrets: resolveBounceSecrets(deps.config),
    // one SMTP_MAX_DATA_BYTES_IN_FLIGHT for both listeners (SMTP_PORT and SMTPS_PORT)
    dataBudget: createDataBudget(deps.config.smtp.maxDataBytesInFlight, (held) =>
      deps.metrics.smtpDataBytesInFlight.set(held),
    ),
  };
  const smtp = await openListener(deps, ingress, deps.config.smtp.port, 'SMTP_PORT', false);
  // implicit TLS (SMTPS): the same hooks, limits and enqueue; if its port cannot be opened, neither listens
  const smtps =
    deps.config.smtp.smtpsPort === undefined
      ? undefined
      : await openListener(deps, ingress, deps.config.smtp.smtpsPort, 'SMTPS_PORT', true).catch(
          async (err: unknown) => {
            await closeListener(smtp);
            throw err;
          },
        );
  const servers = smtps ? [smtp, smtps] : [smtp];
  const port = portOf(smtp);
  const smtpsPort = smtps && portOf(smtps);
  deps.log.info({
    event: 'smtp.listening',
    host: deps.config.smtp.host,
    port,
    ...(smtpsPort !== undefined ? { smtpsPort } : {}),
    domains: deps.config.mail.domains,
  });
  return {
    port,
    smtpsPort,
    close: once(async () => {
      accepting = false;
      deps.log.info({ event: 'smtp.draining', sessions: servers.reduce((n, s) => n + s.connections.size, 0) });
      const drained = await Promise.all(servers.map((s) => drainSmtp(s, deps.config.smtp.closeTimeoutMs)));
      const waitedMs = Math.max(...drained.map((d) => d.waitedMs));
      const cut = drained.reduce((n, d) => n + d.cut, 0);
      deps.log[cut ? 'warn' : 'info']({ event: 'smtp.closed', waitedMs, cut });
    }),
  };
}
