import anyTest, { type TestFn } from 'ava';
import { ImapFlow } from 'imapflow';
import { connectedFixture, type ConnectedFixture } from '../helpers/connected.js';
import type { Dovecot } from '../helpers/dovecot.js';
import type { System } from '../helpers/system.js';
import { call, type Tenant } from '../helpers/tenants.js';

const PASSWORD = 'alice-Delete-pw-3f9a';
const BOX = 'del@example.org';
const base = `/api/v1/mailboxes/${BOX}`;
const mail = (subject: string) => `From: eve@example.net\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

const test = anyTest as TestFn<ConnectedFixture>;

test.before(async (t) => {
  t.context = await connectedFixture({
    users: [{ user: 'alice', password: PASSWORD }],
    seed: async (dv) => {
      await dv.append('alice', 'INBOX', mail('keep unread'));
      await dv.append('alice', 'INBOX', mail('flagged deleted by someone else'), ['\\Deleted']);
      await dv.append('alice', 'INBOX', mail('already read'), ['\\Seen']);
      await dv.append('alice', 'INBOX', mail('to delete'));
    },
  });
  await t.context.connect(BOX, 'alice');
});
test.after.always(async (t) => {
  await t.context.stop?.();
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
