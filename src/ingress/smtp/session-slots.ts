import type { SMTPServerSession } from 'smtp-server';
import type { Config } from '../../core/config.js';
import { NoSmtpSession } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { createSlots, type Refusal } from './slots.js';
import type { ReplySender } from './size-reply.js';

/** What a connection of smtp-server offers here: its session, and the method every reply goes through. */
export interface SlotConnection extends ReplySender {
  session: { id: string };
}

const refusalOf = (reason: Refusal, address: string, held: number, config: Config['smtp']) => {
  switch (reason) {
    case 'per_address':
      return new NoSmtpSession(
        'smtp_per_ip_limit',
        `4.7.0 Too many concurrent connections from ${address} (${held} open, limit ${config.maxClientsPerIp}); close one and try again`,
      );
    case 'reserved':
      return new NoSmtpSession(
        'smtp_reserved',
        `4.7.0 Server busy: the sessions left are kept for new clients, and ${address} already holds ${held}; try again later`,
      );
    case 'full':
      return new NoSmtpSession('smtp_full', '4.3.2 Too many connected clients, try again in a moment');
  }
};

const evictedText = '4.4.2 Idle session closed to make room for another client';

/**
 * The SMTP sessions' slots (slots.ts) wired to smtp-server: `admit` in onConnect (an error to refuse with, or
 * undefined), `release` in onClose; every reply marks its session active, a message being received or enqueued
 * marks it busy. An evicted session gets `421 4.4.2` and is closed.
 */
export function createSessionSlots(
  config: Config,
  deps: { log: Logger; metrics?: Metrics; connections: () => Iterable<SlotConnection> },
) {
  const slots = createSlots({
    maxClients: config.smtp.maxClients,
    maxPerAddress: config.smtp.maxClientsPerIp,
    reserved: config.smtp.reservedClients,
    evictIdleMs: config.smtp.evictIdleMs,
  });
  const connectionOf = (id: string) => {
    for (const c of deps.connections()) if (c.session.id === id) return c;
    return undefined;
  };
  return {
    /** onConnect: undefined (admitted) or the refusal */
    admit(session: SMTPServerSession, connection: ReplySender | undefined): NoSmtpSession | undefined {
      const address = session.remoteAddress || 'unknown';
      const decided = slots.admit(session.id, address);
      if (!decided.ok) return refusalOf(decided.reason, address, decided.held, config.smtp);
      if (connection) {
        const send = connection.send.bind(connection);
        connection.send = (code, data, context) => {
          slots.touch(session.id);
          send(code, data, context);
        };
      }
      if (decided.evicted) {
        const { id, address: from, idleMs } = decided.evicted;
        deps.metrics?.smtpReplies.inc({ code: '421' });
        deps.metrics?.smtpEvictions.inc();
        deps.log.info({ event: 'smtp.evicted', session: id, remoteAddress: from, idleMs, for: session.id });
        // send(421) writes the reply and closes the connection; its onClose releases nothing more
        connectionOf(id)?.send(421, evictedText, false);
      }
      return undefined;
    },
    release: (session: SMTPServerSession) => slots.release(session.id),
    busy: (session: SMTPServerSession, busy: boolean) => slots.busy(session.id, busy),
    held: (address?: string) => slots.held(address),
  };
}
