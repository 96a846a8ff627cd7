import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { RelaySettings } from '../core/config.js';
import type { AllowList } from '../core/host-allow-list.js';
import { resolveChecked, type HostGuard } from '../core/host-guard.js';
import { parseIp } from '../core/ip-address.js';
import { open, type KeyRing } from '../core/secret-box.js';
import { passwordAad, sealedPassword } from '../store/connected-mailboxes.js';
import type { Db } from '../store/db.js';
import type { OutboundToSend } from '../store/outbound-delivery.js';
import { SendingNotConfigured } from './errors.js';

/** One SMTP transaction: MAIL FROM, one RCPT, DATA with these bytes; resolves with the server's final reply. */
export interface SendTransport {
  send(envelope: { from: string; to: string }, raw: Buffer): Promise<string>;
}

export interface TransportPoolOptions {
  db: Db;
  relay: RelaySettings | undefined;
  /** seals connected mailboxes' SMTP passwords; undefined: connected mailboxes cannot send */
  credentials: KeyRing | undefined;
  /** CONNECTED_ALLOW_HOSTS: a connected mailbox's SMTP host passes the same guard as its IMAP host */
  allowHosts: AllowList;
  timeoutMs: number;
  maxConnections: number;
  /** tests: a resolver for the guard */
  resolver?: HostGuard['resolver'];
}

export interface TransportPool {
  forMailbox(mailbox: OutboundToSend['mailbox']): Promise<SendTransport>;
  close(): void;
}

/** How long a connected mailbox's pooled transport is kept before its host is resolved and checked again. */
const CONNECTED_TRANSPORT_MAX_AGE_MS = 5 * 60_000;

const wrap = (t: Transporter): SendTransport => ({
  async send(envelope, raw) {
    const info = (await t.sendMail({ envelope: { from: envelope.from, to: [envelope.to] }, raw })) as {
      response?: string;
    };
    return info.response ?? '250';
  },
});

/**
 * Pooled SMTP transports (nodemailer's pool: up to OUTBOUND_POOL_CONNECTIONS connections each, reused across
 * messages): one for the relay (OUTBOUND_RELAY_URL) that hosted mailboxes send through, one per connected mailbox
 * for its own SMTP account. A connected mailbox's host is resolved and checked by the host guard (policy
 * `connected`, CONNECTED_ALLOW_HOSTS) and the connection goes to the checked address (the host name stays the TLS
 * server name); its password is opened from the connected-mailbox store only here, never logged, never in a job.
 */
export function createTransportPool(o: TransportPoolOptions): TransportPool {
  const common = {
    pool: true as const,
    maxConnections: o.maxConnections,
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  let relay: Transporter | undefined;
  const connected = new Map<string, { key: string; at: number; transporter: Transporter }>();
  const guard: HostGuard = {
    policy: 'connected',
    allow: o.allowHosts,
    ...(o.resolver ? { resolver: o.resolver } : {}),
    codes: { forbidden: 'smtp_host_forbidden', unresolvable: 'smtp_unreachable' },
  };

  const relayTransport = (r: RelaySettings): Transporter =>
    (relay ??= nodemailer.createTransport({
      ...common,
      host: r.host,
      port: r.port,
      secure: r.secure,
      ...(r.user !== undefined ? { auth: { user: r.user, pass: r.pass ?? '' } } : {}),
      tls: { rejectUnauthorized: true, ...(parseIp(r.host) ? {} : { servername: r.host }) },
    }));

  async function connectedTransport(m: OutboundToSend['mailbox']): Promise<Transporter> {
    const smtp = m.smtp;
    if (!smtp) throw new SendingNotConfigured('this connected mailbox has no SMTP account');
    if (!o.credentials) throw new SendingNotConfigured('connected mailboxes are disabled (no CREDENTIALS_KEY)');
    const sealed = await sealedPassword(o.db, m.id, 'smtp');
    if (!sealed) throw new SendingNotConfigured('this connected mailbox has no SMTP password');
    const key = createHash('sha256')
      .update(JSON.stringify([smtp.host, smtp.port, smtp.tls, smtp.username]))
      .update(sealed)
      .digest('hex');
    const cached = connected.get(m.id);
    if (cached && cached.key === key && Date.now() - cached.at < CONNECTED_TRANSPORT_MAX_AGE_MS)
      return cached.transporter;
    cached?.transporter.close();
    connected.delete(m.id);
    const password = open(o.credentials, sealed, passwordAad('smtp', m.id));
    const checked = await resolveChecked(guard, smtp.host);
    const bareHost = smtp.host.startsWith('[') ? smtp.host.slice(1, -1) : smtp.host;
    const transporter = nodemailer.createTransport({
      ...common,
      host: checked.address,
      port: smtp.port,
      secure: smtp.tls === 'implicit',
      requireTLS: smtp.tls === 'starttls',
      ignoreTLS: smtp.tls === 'none',
      tls: { rejectUnauthorized: true, ...(parseIp(bareHost) ? {} : { servername: bareHost }) },
      auth: { user: smtp.username, pass: password },
    });
    connected.set(m.id, { key, at: Date.now(), transporter });
    return transporter;
  }

  return {
    async forMailbox(m) {
      if (m.kind === 'connected') return wrap(await connectedTransport(m));
      if (!o.relay) throw new SendingNotConfigured('hosted mailboxes cannot send: OUTBOUND_RELAY_URL is not set');
      return wrap(relayTransport(o.relay));
    },
    close() {
      relay?.close();
      relay = undefined;
      for (const c of connected.values()) c.transporter.close();
      connected.clear();
    },
  };
}
