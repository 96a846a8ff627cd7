import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The private configuration of a test Dovecot (2.3): everything under one temp dir, nothing read from
 * /etc/dovecot (the file is passed with `-c` and includes nothing), IMAP only, plaintext on 127.0.0.1.
 */

export interface DovecotUser {
  user: string;
  /** Always the plain password (tests log in with it); with `hashed`, only its `{SSHA256}` hash is stored. */
  password: string;
  hashed?: boolean;
}

/** Who the Dovecot processes run as. Dovecot refuses to access mail as uid 0. */
export interface DovecotIdentity {
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  mailUid: number;
  mailGid: number;
}

/** A tag in every line Dovecot writes when an authenticated IMAP session ends (see `imap_logout_format`). */
export const SESSION_END_TAG = 'mw-session-end';

const SAFE_USER = /^[A-Za-z0-9._@+-]+$/;

/**
 * As root (CI, this machine): the `dovecot`/`dovenull` accounts created by the Debian package run the
 * internal and login processes, mail runs as `nobody`. Unprivileged: every process runs as the caller.
 */
export function dovecotIdentity(): DovecotIdentity {
  const id = (...args: string[]) => execFileSync('id', args).toString().trim();
  if (process.getuid?.() === 0) {
    return {
      internalUser: 'dovecot',
      internalGroup: id('-gn', 'dovecot'),
      loginUser: 'dovenull',
      mailUid: Number(id('-u', 'nobody')),
      mailGid: Number(id('-g', 'nobody')),
    };
  }
  const me = id('-un');
  return {
    internalUser: me,
    internalGroup: id('-gn'),
    loginUser: me,
    mailUid: Number(id('-u')),
    mailGid: Number(id('-g')),
  };
}

/** `{SSHA256}` hash Dovecot verifies natively: base64(sha256(password + salt) + salt). */
export function hashPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha256').update(password).update(salt).digest();
  return `{SSHA256}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** passwd-file lines: `user:{PLAIN}password` or `user:{SSHA256}hash`. */
export function passwdFile(users: DovecotUser[]): string {
  return users
    .map(({ user, password, hashed }) => {
      if (!SAFE_USER.test(user)) throw new Error(`dovecot test user name not allowed: ${JSON.stringify(user)}`);
      if (/[:\r\n]/.test(password)) throw new Error(`password of ${user} contains ':' or a line break`);
      return `${user}:${hashed ? hashPassword(password) : `{PLAIN}${password}`}\n`;
    })
    .join('');
}

/**
 * `greeting` must be unique to this instance: readiness is "our greeting on our port", so another server that
 * grabbed the port first (a race with freePort()) is never mistaken for this one.
 */
export function dovecotConf(dir: string, port: number, who: DovecotIdentity, greeting: string): string {
  const mail = join(dir, 'mail');
  return `base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
instance_name = mw-test-dovecot-${port}
log_path = ${join(dir, 'dovecot.log')}
info_log_path = ${join(dir, 'dovecot.log')}
protocols = imap
login_greeting = ${greeting}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with wrong passwords on purpose: answer at once instead of the default 2 s delay.
auth_failure_delay = 0
default_internal_user = ${who.internalUser}
default_internal_group = ${who.internalGroup}
default_login_user = ${who.loginUser}
first_valid_uid = ${who.mailUid}
mail_location = maildir:${mail}/%u
mail_fsync = never
# One line per ended session (LOGOUT, closed connection or timeout), so tests count sessions and bytes.
imap_logout_format = ${SESSION_END_TAG} in=%i out=%o
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(dir, 'users')}
}
userdb {
  driver = static
  args = uid=${who.mailUid} gid=${who.mailGid} home=${mail}/%u
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
# No per-IP auth penalty (anvil would delay every attempt after a failure by up to 15 s): documented switch.
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}
