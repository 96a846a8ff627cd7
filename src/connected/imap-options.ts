import type { ImapFlowOptions } from 'imapflow';
import type { CheckedHost } from '../core/host-guard.js';
import { parseIp } from '../core/ip-address.js';
import type { AccountLogin } from './account.js';

/**
 * imapflow's options for one connection to a connected mailbox's IMAP account: to the address the host guard
 * checked (the host name stays the TLS server name, so certificates are verified against it), TLS as the account
 * says (`starttls` must upgrade, `none` never does), every phase bounded by IMAP_TIMEOUT_MS, no logger (the
 * password and the mail never reach a log line), no auto-IDLE (one request, one session).
 */
export function imapOptions(login: AccountLogin, checked: CheckedHost, timeoutMs: number): ImapFlowOptions {
  const bareHost = login.host.startsWith('[') ? login.host.slice(1, -1) : login.host;
  return {
    host: checked.address,
    port: login.port,
    secure: login.tls === 'implicit',
    ...(parseIp(bareHost) ? {} : { servername: login.host }),
    doSTARTTLS: login.tls === 'starttls' ? true : login.tls === 'none' ? false : undefined,
    tls: { rejectUnauthorized: true },
    auth: { user: login.username, pass: login.password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
}
