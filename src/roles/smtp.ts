import type { AddressInfo } from 'node:net';
import type { RoleDeps } from './deps.js';
import { once } from '../core/shutdown.js';
import { drainSmtp } from '../ingress/smtp/drain.js';
import { createSmtpIngress } from '../ingress/smtp/server.js';
import { redisPersistence } from '../ops/redis-persistence.js';
import { smtpConnectionLimit } from '../ingress/smtp/connection-limit.js';

export interface SmtpRole { port: number; close: () => Promise<void> }

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
  const server = createSmtpIngress({ config: deps.config, log, inbound: deps.queues, metrics: deps.metrics, onConnect, accepting: () => accepting, busy: (w) => deps.pipelining.busy(w) });
  server.on('error', (err) => deps.log.error({ event: 'smtp.error', err }));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(deps.config.smtp.port, deps.config.smtp.host, () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  deps.log.info({ event: 'smtp.listening', host: deps.config.smtp.host, port, domains: deps.config.mail.domains });
  return {
    port,
    close: once(async () => {
      accepting = false;
      deps.log.info({ event: 'smtp.draining', sessions: server.connections.size });
      const { waitedMs, cut } = await drainSmtp(server, deps.config.smtp.closeTimeoutMs);
      deps.log[cut ? 'warn' : 'info']({ event: 'smtp.closed', waitedMs, cut });
    }),
  };
}
