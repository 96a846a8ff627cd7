import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createKeyRing, generateKey, open, seal, type KeyRing } from '../../src/core/secret-box.js';
import { insertConnected, passwordAad, type Account } from '../../src/store/connected-mailboxes.js';
import { startSystem, type System } from '../helpers/system.js';
import { createTenant } from '../helpers/tenants.js';

const test = anyTest as TestFn<{ sys: System }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
});

const A = generateKey();
const B = generateKey();
const ringA = createKeyRing({ current: A });
const ringB = createKeyRing({ current: B });

/** `npm run cli -- credentials:rotate` with these keys: its exit code and output. */
const rotate = (sys: System, env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/bin/cli.ts', 'credentials:rotate'],
      { env: { ...process.env, DATABASE_URL: sys.database.url, CREDENTIALS_KEY: '', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });

/** A connected mailbox row with both accounts sealed under `ring`. */
async function connectedRow(sys: System, ring: KeyRing, n: number) {
  const owner = await createTenant(sys, 'pro');
  const id = randomUUID();
  const account = (a: Account) => ({
    host: 'imap.example.org',
    port: 993,
    tls: 'implicit' as const,
    username: `u${n}`,
    sealedPassword: seal(ring, `${a}-password-${n}`, passwordAad(a, id)),
  });
  await insertConnected(sys.deps.db, {
    id,
    address: `rot${n}@example.org`,
    ownerUserId: owner.userId,
    planId: 'pro',
    imap: account('imap'),
    smtp: account('smtp'),
  });
  return id;
}

test.serial(
  'rotate: every value sealed with A opens with B only afterwards; a second run rotates nothing',
  async (t) => {
    const { sys } = t.context;
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push(await connectedRow(sys, ringA, n));
    const first = await rotate(sys, { CREDENTIALS_KEY: B, CREDENTIALS_KEY_PREVIOUS: A });
    t.is(first.code, 0, first.stderr);
    t.deepEqual(JSON.parse(first.stdout.trim()), { scanned: 6, rotated: 6, already_current: 0, failed: 0 });
    for (const [n, id] of ids.entries()) {
      const row = await sys.deps.db('mailboxes').where({ id }).first();
      for (const a of ['imap', 'smtp'] as const) {
        const sealed: Buffer = row[`${a}_password_encrypted`];
        t.is(open(ringB, sealed, passwordAad(a, id)), `${a}-password-${n}`);
        t.throws(() => open(ringA, sealed, passwordAad(a, id)), undefined, 'A no longer opens it');
      }
    }
    const second = await rotate(sys, { CREDENTIALS_KEY: B, CREDENTIALS_KEY_PREVIOUS: A });
    t.is(second.code, 0, second.stderr);
    t.deepEqual(JSON.parse(second.stdout.trim()), { scanned: 6, rotated: 0, already_current: 6, failed: 0 });
  },
);

test.serial(
  'rotate: a value no key opens is counted as failed, left as it is, exit 1; no key set: exit 1',
  async (t) => {
    const { sys } = t.context;
    const C = generateKey();
    const id = await connectedRow(sys, createKeyRing({ current: C }), 9);
    const before = await sys.deps.db('mailboxes').where({ id }).first();
    const r = await rotate(sys, { CREDENTIALS_KEY: B, CREDENTIALS_KEY_PREVIOUS: A });
    t.is(r.code, 1);
    t.like(JSON.parse(r.stdout.trim()), { rotated: 0, failed: 2 });
    const after = await sys.deps.db('mailboxes').where({ id }).first();
    t.deepEqual(after.imap_password_encrypted, before.imap_password_encrypted);
    const none = await rotate(sys, {});
    t.is(none.code, 1);
    t.regex(none.stderr, /CREDENTIALS_KEY is not set/);
  },
);
