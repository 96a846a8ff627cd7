import type { Config } from '../core/config.js';
import { BadRequest } from '../core/errors.js';
import { seal, type KeyRing } from '../core/secret-box.js';
import { passwordAad, type SealedBounceInbox } from '../store/connected-mailboxes.js';
import { connectedGuard, type AccountLogin } from './account.js';
import { verifyImapLogin } from './verify.js';

/** A connected mailbox's bounce inbox as given (issue 21): an IMAP account, the folder polled, the VERP domain. */
export interface BounceInboxLogin extends AccountLogin {
  folder: string;
  verpDomain: string;
}

export const DEFAULT_BOUNCE_FOLDER = 'INBOX';
const MAX_FOLDER_BYTES = 255;

/** The folder rule of connected mailboxes: no CR, LF or NUL, at most 255 bytes (400 invalid_folder). */
export function checkBounceFolder(folder: string | undefined): void {
  if (folder === undefined) return;
  if (folder.length === 0 || /[\r\n\0]/.test(folder) || Buffer.byteLength(folder, 'utf8') > MAX_FOLDER_BYTES)
    throw new BadRequest(
      `bounce_imap.folder must be 1-${MAX_FOLDER_BYTES} bytes without CR, LF or NUL`,
      'invalid_folder',
    );
}

/** LOGIN/LOGOUT on the bounce inbox before it is stored: 422 bounce_imap_login_failed / bounce_imap_unreachable. */
export const verifyBounceInbox = (config: Config, login: AccountLogin): Promise<void> =>
  verifyImapLogin(
    connectedGuard(config.connected.allowHosts, 'bounce_imap'),
    login,
    config.connected.imapTimeoutMs,
    'bounce_imap',
  );

/** The bounce inbox with its password sealed for this mailbox row's `bounce_imap_password_encrypted`. */
export const sealBounceInbox = (ring: KeyRing, mailboxId: string, b: BounceInboxLogin): SealedBounceInbox => ({
  host: b.host,
  port: b.port,
  tls: b.tls,
  username: b.username,
  sealedPassword: seal(ring, b.password, passwordAad('bounce_imap', mailboxId)),
  folder: b.folder,
  verpDomain: b.verpDomain.toLowerCase(),
});
