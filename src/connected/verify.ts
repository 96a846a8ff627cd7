import { ImapFlow, type ImapFlowError } from 'imapflow';
import type { HostGuard } from '../core/host-guard.js';
import { within } from '../core/timeout.js';
import { checkedHost, type AccountLogin } from './account.js';
import { AccountRejected } from './errors.js';
import { imapOptions } from './imap-options.js';
import { serverText } from './server-text.js';

/**
 * LOGIN then LOGOUT on an IMAP account before its settings are stored (imapflow's `verifyOnly`), within
 * IMAP_TIMEOUT_MS. Refused credentials: 422 `<prefix>_login_failed`; anything else (DNS, refused or dropped
 * connection, TLS, timeout): 422 `<prefix>_unreachable`. The server's text is quoted through `serverText` (the
 * password replaced by ***, no control characters, at most 200 characters).
 */
export async function verifyImapLogin(
  guard: HostGuard,
  login: AccountLogin,
  timeoutMs: number,
  prefix: 'imap' | 'bounce_imap' = 'imap',
): Promise<void> {
  const checked = await checkedHost(guard, login, prefix);
  const client = new ImapFlow({ ...imapOptions(login, checked, timeoutMs), verifyOnly: true });
  // errors after connect() settled (a late socket error) must not become an unhandled 'error' event
  client.on('error', () => undefined);
  try {
    await within(client.connect(), timeoutMs, `no answer within ${timeoutMs} ms`);
  } catch (err) {
    client.close();
    const e = err as ImapFlowError;
    if (e.authenticationFailed) {
      const text = serverText(e.responseText ?? e.message, login.password);
      throw new AccountRejected(`${prefix}_login_failed`, `the IMAP server refused the login: ${text}`);
    }
    const text = serverText([e.code, e.responseText ?? e.message].filter(Boolean).join(': '), login.password);
    throw new AccountRejected(`${prefix}_unreachable`, `cannot reach the IMAP server: ${text}`);
  }
}
