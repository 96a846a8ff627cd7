import { chownSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SESSION_END_TAG, type DovecotIdentity } from './dovecot-config.js';

/** A message for `seedMaildir`: raw RFC 5322 bytes, optionally with IMAP system flags. */
export type SeedMessage = string | Buffer | { raw: string | Buffer; flags?: string[] };

export interface LogCounts {
  /** Successful IMAP logins (`imap-login: Login: user=<...>`). */
  logins: number;
  /** Authenticated sessions that ended, whatever the reason (LOGOUT, closed connection, timeout, kill). */
  logouts: number;
  /** Of those, the sessions ended by the client's LOGOUT command. */
  loggedOut: number;
  /** Bytes Dovecot sent to clients over all ended sessions (`out=` of `imap_logout_format`). */
  bytesOut: number;
}

const SESSION_END = new RegExp(`\\b${SESSION_END_TAG} in=(\\d+) out=(\\d+)`);

export function countSessions(log: string): LogCounts {
  const counts: LogCounts = { logins: 0, logouts: 0, loggedOut: 0, bytesOut: 0 };
  for (const line of log.split('\n')) {
    if (/ imap-login: Info: Login: user=</.test(line)) counts.logins++;
    const end = SESSION_END.exec(line);
    if (!end) continue;
    counts.logouts++;
    if (/Disconnected: Logged out /.test(line)) counts.loggedOut++;
    counts.bytesOut += Number(end[2]);
  }
  return counts;
}

/** Maildir system flag letters (maildir.org), in the ASCII order the `:2,` info requires. */
const FLAG_LETTERS: Record<string, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};

let seq = 0;

/**
 * Writes each message to `tmp/` and renames it into `cur/` (a reader never sees half a file), owned by the
 * mail uid. File names carry increasing timestamps, so Dovecot assigns UIDs in the order given.
 * Folder `INBOX` is the user's Maildir root; `A/B` is the Maildir++ folder `.A.B`.
 */
export function seedMaildirFiles(
  root: string,
  user: string,
  folder: string,
  messages: SeedMessage[],
  who: DovecotIdentity,
): void {
  const home = join(root, user);
  const box = folder.toUpperCase() === 'INBOX' ? home : join(home, `.${folder.split('/').join('.')}`);
  for (const d of [home, box, join(box, 'tmp'), join(box, 'new'), join(box, 'cur')]) {
    if (existsSync(d)) continue;
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, who.mailUid, who.mailGid);
  }
  if (box !== home && !existsSync(join(box, 'maildirfolder'))) {
    writeFileSync(join(box, 'maildirfolder'), '');
    chownSync(join(box, 'maildirfolder'), who.mailUid, who.mailGid);
  }
  const base = Math.floor(Date.now() / 1000);
  messages.forEach((m, i) => {
    const { raw, flags = [] } = typeof m === 'string' || Buffer.isBuffer(m) ? { raw: m, flags: [] } : m;
    const letters = flags.map((f) => {
      const l = FLAG_LETTERS[f];
      if (!l) throw new Error(`seedMaildir supports system flags only, not ${f}`);
      return l;
    });
    const name = `${base + i}.P${process.pid}Q${++seq}.mw-seed`;
    const tmp = join(box, 'tmp', name);
    writeFileSync(tmp, raw);
    chownSync(tmp, who.mailUid, who.mailGid);
    renameSync(tmp, join(box, 'cur', `${name}:2,${[...new Set(letters)].sort().join('')}`));
  });
}
