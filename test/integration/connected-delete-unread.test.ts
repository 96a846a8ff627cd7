import anyTest, { type TestFn } from 'ava';
import { ImapFlow } from 'imapflow';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSystem, type System } from '../helpers/system.js';
import { call, createTenant, type Tenant } from '../helpers/tenants.js';

const PASSWORD = 'alice-Delete-pw-3f9a';
const BOX = 'del@example.org';
const base = `/api/v1/mailboxes/${BOX}`;
const mail = (subject: string) => `From: eve@example.net\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

const test = anyTest as TestFn<{ dv: Dovecot; sys: System; owner: Tenant }>;

test.before(async (t) => {
  const dv = await startDovecot({ users: [{ user: 'alice', password: PASSWORD }] });
  t.context.dv = dv;
  await dv.append('alice', 'INBOX', mail('keep unread'));
  await dv.append('alice', 'INBOX', mail('flagged deleted by someone else'), ['\\Deleted']);
  await dv.append('alice', 'INBOX', mail('already read'), ['\\Seen']);
  await dv.append('alice', 'INBOX', mail('to delete'));
  t.context.sys = await startSystem({ roles: ['web'], env: { CONNECTED_ALLOW_HOSTS: '127.0.0.1' } });
  t.context.owner = await createTenant(t.context.sys, 'pro');
  const r = await call(t.context.sys, 'POST', '/api/v1/mailboxes', {
    token: t.context.owner.apiKey,
    body: {
      kind: 'connected',
      address: BOX,
      imap: { host: '127.0.0.1', port: dv.port, tls: 'none', username: 'alice', password: PASSWORD },
    },
  });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
});
test.after.always(async (t) => {
  await t.context.sys?.stop();
  await t.context.dv?.stop();
});

const api = (t: { context: { sys: System; owner: Tenant } }, method: string, path: string) =>
  call(t.context.sys, method, path, { token: t.context.owner.apiKey });
const subjects = (body: { subject: string }[]) => body.map((m) => m.subject);

/** The subjects INBOX holds, \Deleted or not, read by a client of the test's own. */
async function inbox(dv: Dovecot): Promise<string[]> {
  const client = new ImapFlow(dv.imapOptions('alice'));
  await client.connect();
  try {
    await client.mailboxOpen('INBOX', { readOnly: true });
    const all = await client.fetchAll('1:*', { envelope: true });
    return all.map((m) => m.envelope?.subject ?? '');
  } finally {
    await client.logout();
  }
}

test.serial('?unread=true lists the unseen messages, ?unread=false the seen ones, anything else is 400', async (t) => {
  const unread = await api(t, 'GET', `${base}/messages?unread=true`);
  t.is(unread.status, 200, unread.text);
  t.deepEqual(subjects(unread.body), ['to delete', 'flagged deleted by someone else', 'keep unread']);
  const read = await api(t, 'GET', `${base}/messages?unread=false`);
  t.is(read.status, 200, read.text);
  t.deepEqual(subjects(read.body), ['already read']);
  const paged = await api(t, 'GET', `${base}/messages?unread=true&limit=2`);
  t.deepEqual(subjects(paged.body), ['to delete', 'flagged deleted by someone else']);
  t.regex(paged.headers.get('link') ?? '', /unread=true/);
  const bad = await api(t, 'GET', `${base}/messages?unread=yes`);
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'invalid_unread');
});

test.serial('DELETE expunges that UID only: a message someone else flagged \\Deleted survives', async (t) => {
  const list = await api(t, 'GET', `${base}/messages`);
  const target = list.body.find((m: { subject: string }) => m.subject === 'to delete');
  const del = await api(t, 'DELETE', `${base}/messages/${target.id}`);
  t.is(del.status, 204, del.text);
  t.deepEqual(await inbox(t.context.dv), ['keep unread', 'flagged deleted by someone else', 'already read']);
  const again = await api(t, 'DELETE', `${base}/messages/${target.id}`);
  t.is(again.status, 404);
  t.is(again.body.error.code, 'message_not_found');
  const malformed = await api(t, 'DELETE', `${base}/messages/nope`);
  t.is(malformed.status, 404);
  t.is(malformed.body.error.code, 'message_not_found');
  const c = await t.context.dv.waitForLog((x) => x.logins === x.loggedOut, 5_000);
  t.is(c.logins, c.loggedOut);
});
