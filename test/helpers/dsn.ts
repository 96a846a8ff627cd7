import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../fixtures/dsn/', import.meta.url));

/** Every DSN fixture's file name (test/fixtures/dsn/*.eml). */
export const dsnFixtures = (): string[] => readdirSync(DIR).filter((f) => f.endsWith('.eml'));

/**
 * A DSN fixture re-addressed: `{{VERP}}` becomes the VERP address it bounces to, `{{RCPT}}` the recipient that
 * failed, `{{N}}` a number that makes its Message-ID (and its bytes) unique. CRLF line ends, as IMAP and SMTP carry it.
 */
export function dsn(name: string, to: { verp: string; rcpt: string; n?: number | string }): Buffer {
  const text = readFileSync(DIR + name, 'utf8')
    .replaceAll('{{VERP}}', to.verp)
    .replaceAll('{{RCPT}}', to.rcpt)
    .replaceAll('{{N}}', String(to.n ?? 1));
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}
