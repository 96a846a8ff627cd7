// npm run cli -- <command> [--flags]
import { parseArgs } from 'node:util';
import { presentPlan } from '../api/present.js';
import { loadConfigOrExit } from '../core/config.js';
import { rotateCredentials } from '../connected/rotate.js';
import { normalizeAddress } from '../core/address.js';
import { reparseStored } from '../pipeline/reparse.js';
import { pollBouncesOnce } from './cli-bounces.js';
import { createDb } from '../store/db.js';
import { createStores } from '../store/index.js';

const USAGE = `usage:
  npm run cli -- users:create --plan <anonymous|free|pro|...> [--email <address>] [--name <key name>]
      creates a user and an API key; the key is printed alone on the last line
  npm run cli -- keys:create --user <user id> [--name <key name>]
      creates another API key for a user; the key is printed alone on the last line
  npm run cli -- plans:list
  npm run cli -- credentials:rotate
      re-encrypts every stored credential sealed under CREDENTIALS_KEY_PREVIOUS with CREDENTIALS_KEY; prints
      {"scanned","rotated","already_current","failed"} on one line (exit 1 when any failed)
  npm run cli -- messages:reparse [--mailbox <address>] [--since <ISO 8601 date or time>]
      parses again, one at a time under PARSE_RETRY_TIMEOUT_MS, the messages stored with a parse error (all, or
      of one mailbox, or received since a time); a message that parses now gets its text, HTML, codes, links and
      attachments; prints {"scanned","reparsed","still_failing","failed"} on one line
  npm run cli -- bounces:poll-once [--mailbox <address>]
      polls the bounce inbox of every connected mailbox that has one (or of one) in this process, as the worker
      does; one JSON line per mailbox {"mailbox","fetched","matched","rejected","errors","ms"}; exit 0 when every
      poll ran, 1 when one could not (IMAP or database unreachable), 2 on a usage error`;

const [command, ...rest] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const OPTIONS = {
  plan: { type: 'string' },
  email: { type: 'string' },
  user: { type: 'string' },
  name: { type: 'string' },
  mailbox: { type: 'string' },
  since: { type: 'string' },
} as const;
/** A wrong argument: what is wrong, then the usage; exit 2. */
function usageError(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>['values'];
try {
  ({ values } = parseArgs({ args: rest, options: OPTIONS, strict: true }));
} catch (err) {
  // a missing value, an unknown option, an extra argument: say which, show the usage, no stack trace
  usageError((err as Error).message);
}

const config = loadConfigOrExit();
// a connection failure is reported once, by the catch below, not also by knex with a stack trace
const quiet = { warn() {}, error() {}, deprecate() {}, debug() {} };
const db = createDb(config, { log: quiet });
const stores = createStores(db);
let code = 0;
try {
  if (command === 'users:create') {
    if (!values.plan) usageError('--plan is required');
    if (values.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(values.email))
      usageError(`--email "${values.email}" is not an email address`);
    if (values.name !== undefined && !values.name.trim()) usageError('--name must not be empty');
    if (!(await stores.plans.get(values.plan))) throw new Error(`no plan "${values.plan}" (see plans:list)`);
    // one transaction: a key that cannot be created leaves no user behind
    const planId = values.plan;
    const { user, record, key } = await db.transaction(async (trx) => {
      const tx = createStores(trx);
      const user = await tx.users.create({ email: values.email ?? null, planId });
      return { user, ...(await tx.apiKeys.create({ userId: user.id, name: values.name ?? 'default' })) };
    });
    console.log(
      `user ${user.id} created on plan ${user.planId}; API key prefix ${record.prefix} (shown once, store it now):`,
    );
    console.log(key);
  } else if (command === 'keys:create') {
    if (!values.user) usageError('--user is required');
    if (values.name !== undefined && !values.name.trim()) usageError('--name must not be empty');
    const user = await stores.users.findById(values.user).catch(() => undefined);
    if (!user) throw new Error(`no user ${values.user}`);
    const { record, key } = await stores.apiKeys.create({ userId: user.id, name: values.name ?? null });
    console.log(`API key ${record.prefix} created for user ${user.id} (shown once, store it now):`);
    console.log(key);
  } else if (command === 'plans:list') {
    for (const p of await stores.plans.all()) console.log(JSON.stringify(presentPlan(p))); // the API's snake_case
  } else if (command === 'credentials:rotate') {
    const ring = config.connected.keyRing;
    if (!ring) throw new Error('CREDENTIALS_KEY is not set (and CREDENTIALS_KEY_PREVIOUS to read the old values)');
    const counts = await rotateCredentials(db, ring);
    console.log(JSON.stringify(counts));
    if (counts.failed > 0) code = 1;
  } else if (command === 'messages:reparse') {
    const since = values.since === undefined ? undefined : new Date(values.since);
    if (since && Number.isNaN(since.getTime())) usageError(`--since "${values.since}" is not an ISO 8601 date or time`);
    let mailboxId: string | undefined;
    if (values.mailbox !== undefined) {
      const mailbox = await stores.mailboxes.findByAddress(normalizeAddress(values.mailbox));
      if (!mailbox) throw new Error(`no mailbox ${values.mailbox}`);
      mailboxId = mailbox.id;
    }
    console.log(JSON.stringify(await reparseStored({ db, config }, { mailboxId, since })));
  } else if (command === 'bounces:poll-once') {
    code = await pollBouncesOnce(config, db, stores, values.mailbox, usageError);
  } else {
    usageError(command ? `unknown command "${command}"` : 'no command given');
  }
} catch (err) {
  const e = err as Error & { code?: string; constraint?: string };
  // a unique email (case-insensitive): the rule, not the SQL statement that broke it
  console.error(
    `error: ${e.code === '23505' && e.constraint === 'users_email_key' ? `a user with the email ${values.email} exists already` : e.message}`,
  );
  code = 1;
} finally {
  await db.destroy();
}
process.exit(code);
