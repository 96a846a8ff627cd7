import nodemailer from 'nodemailer';
import type { HostGuard } from '../core/host-guard.js';
import { parseIp } from '../core/ip-address.js';
import { within } from '../core/timeout.js';
import { checkedHost, type AccountLogin } from './account.js';
import { AccountRejected } from './errors.js';
import { serverText } from './server-text.js';

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message: string;
}

/**
 * EHLO, AUTH then QUIT on a connected mailbox's SMTP account before its settings are stored (nodemailer's
 * `verify()`), to the address the host guard checked (the host name stays the TLS server name), TLS as the
 * account says (`implicit`, `starttls` must upgrade, `none` never does), within IMAP_TIMEOUT_MS. Refused
 * credentials: 422 `smtp_login_failed`; anything else: 422 `smtp_unreachable`; the server's text through
 * `serverText` (the password replaced by ***).
 */
export async function verifySmtpLogin(guard: HostGuard, login: AccountLogin, timeoutMs: number): Promise<void> {
  const checked = await checkedHost(guard, login, 'smtp');
  const bareHost = login.host.startsWith('[') ? login.host.slice(1, -1) : login.host;
  const transport = nodemailer.createTransport({
    host: checked.address,
    port: login.port,
    secure: login.tls === 'implicit',
    requireTLS: login.tls === 'starttls',
    ignoreTLS: login.tls === 'none',
    tls: { rejectUnauthorized: true, ...(parseIp(bareHost) ? {} : { servername: login.host }) },
    auth: { user: login.username, pass: login.password },
    logger: false,
    debug: false,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await within(transport.verify(), timeoutMs, `no answer within ${timeoutMs} ms`);
  } catch (err) {
    const e = err as SmtpError;
    if (e.code === 'EAUTH') {
      const text = serverText(e.response ?? e.message, login.password);
      throw new AccountRejected('smtp_login_failed', `the SMTP server refused the login: ${text}`);
    }
    const text = serverText([e.code, e.response ?? e.message].filter(Boolean).join(': '), login.password);
    throw new AccountRejected('smtp_unreachable', `cannot reach the SMTP server: ${text}`);
  } finally {
    transport.close();
  }
}
