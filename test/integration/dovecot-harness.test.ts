import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';

// The test Dovecot itself (test/helpers/dovecot.ts), which the connected-mailbox and bounce features build on.
// Serial: the log counts and stop() look at the whole server.

const A = { user: 'alice@harness.test', password: 'alice-secret' };
const B = { user: 'bob@harness.test', password: 'bob-secret', hashed: true };

let d: Dovecot;
test.before(async () => {
  d = await startDovecot({ users: [A, B] });
});
test.after.always(async () => {
  await d?.stop();
});

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function rawMessage(id: string, subject: string): Buffer {
  return Buffer.from(
    `From: Sender <sender@harness.test>\r\nTo: rcpt@harness.test\r\nSubject: ${subject}\r\nMessage-ID: <${id}@harness.test>\r\n` +
      `Date: Sun, 06 Dec 2026 03:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, ${id}.\r\n  trailing spaces kept  \r\n\r\n`,
  );
}

async function session<T>(user: string, password: string | undefined, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow(d.imapOptions(user, password));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

test.serial('each user (plain and hashed password) APPENDs a message and FETCHes it back byte-exact', async (t) => {
  for (const u of [A, B]) {
    const raw = rawMessage(`own-${u.user}`, `for ${u.user}`);
    const fetched = await session(u.user, u.password, async (c) => {
      const res = await c.append('INBOX', raw, ['\\Seen']);
      t.truthy(res && res.uid);
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne(String(res && res.uid), { source: true, flags: true }, { uid: true });
      t.true(msg && msg.flags?.has('\\Seen'));
      return msg ? msg.source : undefined;
    });
    t.is(sha256(fetched ?? ''), sha256(raw), u.user);
  }
  // the helper's own APPEND (one session per call) returns the UID the message got
  const raw = rawMessage('via-helper', 'via helper');
  const { uid, uidValidity } = await d.append(B.user, 'INBOX', raw);
  const got = await session(B.user, B.password, async (c) => {
    const box = await c.mailboxOpen('INBOX');
    t.is(Number(box.uidValidity), uidValidity);
    const msg = await c.fetchOne(String(uid), { source: true }, { uid: true });
    return msg ? msg.source : undefined;
  });
  t.is(sha256(got ?? ''), sha256(raw));
});

test.serial('folders created over IMAP and by Maildir seeding are listed', async (t) => {
  d.seedMaildir(A.user, 'Archive/2026', [rawMessage('archived', 'archived')]);
  const paths = await session(A.user, undefined, async (c) => {
    await c.mailboxCreate('Projects/Alpha');
    return (await c.list()).map((f) => f.path).sort();
  });
  t.deepEqual(paths, ['Archive', 'Archive/2026', 'INBOX', 'Projects', 'Projects/Alpha']);
});

test.serial("a wrong password or an unknown user is refused with imapflow's authenticationFailed", async (t) => {
  const before = d.logCounts();
  const started = Date.now();
  for (const [user, password] of [
    [A.user, 'not-the-password'],
    [B.user, B.password.toUpperCase()],
    ['nobody@harness.test', 'x'],
  ] as Array<[string, string]>) {
    const client = new ImapFlow(d.imapOptions(user, password));
    const err = await t.throwsAsync(client.connect());
    t.is((err as Error & { authenticationFailed?: boolean }).authenticationFailed, true, user);
    client.close();
  }
  t.is(d.logCounts().logins, before.logins, 'no refused attempt is logged as a login');
  // Dovecot's per-IP auth penalty would hold the next attempts, good ones included, for 4, 8 then 15 s
  await session(A.user, undefined, async (c) => void (await c.noop()));
  t.true(
    Date.now() - started < 8_000,
    `auth penalty is off: three refusals and a login took ${Date.now() - started} ms`,
  );
});

test.serial("user A cannot see user B's mail", async (t) => {
  const raw = rawMessage('bob-private', 'bob private');
  await d.append(B.user, 'INBOX', raw);
  await session(B.user, undefined, async (c) => {
    await c.mailboxCreate('BobOnly');
    await c.mailboxOpen('INBOX');
    t.is(((await c.search({ header: { 'message-id': '<bob-private@harness.test>' } }, { uid: true })) || []).length, 1);
  });
  await session(A.user, undefined, async (c) => {
    await c.mailboxOpen('INBOX');
    t.deepEqual(await c.search({ header: { 'message-id': '<bob-private@harness.test>' } }, { uid: true }), []);
    t.false((await c.list()).some((f) => f.path.includes('BobOnly')));
    await t.throwsAsync(c.mailboxOpen('BobOnly'));
  });
});

test.serial(
  '200 messages seeded as Maildir files are all visible to SEARCH ALL, in order, with their flags',
  async (t) => {
    const messages = Array.from({ length: 200 }, (_, i) => ({
      raw: rawMessage(`bulk-${i}`, `bulk ${i}`),
      flags: i % 4 === 0 ? ['\\Seen', '\\Flagged'] : [],
    }));
    d.seedMaildir(A.user, 'Bulk', messages);
    await session(A.user, undefined, async (c) => {
      await c.mailboxOpen('Bulk');
      const all = (await c.search({ all: true }, { uid: true })) || [];
      t.is(all.length, 200);
      t.is(((await c.search({ seen: true, flagged: true }, { uid: true })) || []).length, 50);
      const first = await c.fetchOne(String(all[0]), { envelope: true, source: true }, { uid: true });
      const last = await c.fetchOne(String(all[199]), { envelope: true }, { uid: true });
      t.is(first && first.envelope?.subject, 'bulk 0');
      t.is(last && last.envelope?.subject, 'bulk 199');
      t.is(sha256((first && first.source) || ''), sha256(messages[0]?.raw ?? ''));
    });
  },
);

test.serial("Dovecot's log counts LOGINs and LOGOUTs, and tells a LOGOUT from a dropped connection", async (t) => {
  const settled = await d.waitForLog((c) => c.logouts === c.logins);
  t.true(settled.logins >= 8);
  t.is(settled.loggedOut, settled.logins, 'every session so far ended with LOGOUT');

  const dropped = new ImapFlow(d.imapOptions(A.user));
  await dropped.connect();
  dropped.close(); // no LOGOUT: the session still ends, but not "Logged out"
  const after = await d.waitForLog((c) => c.logouts === settled.logouts + 1);
  t.is(after.logins, settled.logins + 1);
  t.is(after.loggedOut, settled.loggedOut);

  await session(B.user, undefined, async (c) => void (await c.noop()));
  const clean = await d.waitForLog((c) => c.logouts === after.logouts + 1);
  t.deepEqual([clean.logins, clean.loggedOut], [after.logins + 1, after.loggedOut + 1]);
  t.true(clean.bytesOut > after.bytesOut);
});

test.serial('it listens on 127.0.0.1 only, and stop() leaves no process of ours and no temp dir', async (t) => {
  t.deepEqual(listeners(d.port), ['127.0.0.1']);
  const pids = d.processes();
  t.true(pids.includes(d.pid) && pids.length > 1, `master and children alive: ${pids.join(',')}`);
  await d.stop();
  t.throws(() => process.kill(d.pid, 0), { code: 'ESRCH' });
  t.deepEqual(d.processes(), []);
  t.false(existsSync(d.dir));
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(d.port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
  t.true(refused);
});

/** Local addresses with a TCP socket in LISTEN state on `port` (/proc/net/tcp and tcp6). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue;
      const ip = local.split(':')[0] ?? '';
      found.push(
        ip.length === 8
          ? ip
              .match(/../g)!
              .reverse()
              .map((h) => parseInt(h, 16))
              .join('.')
          : `ipv6:${ip}`,
      );
    }
  }
  return found;
}
