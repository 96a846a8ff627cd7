import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { createDb } from '../../src/store/db.js';
import { createStores, type Stores } from '../../src/store/index.js';
import type { NewMessage } from '../../src/store/message-row.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface StoreContext {
  database: TestDatabase;
  db: Knex;
  stores: Stores;
}

/** A migrated database of this file's own, with stores over a pool of `poolMax` (large enough that concurrent writes really overlap). */
export function useStoreDatabase(test: TestFn<StoreContext>, poolMax: number): void {
  test.before(async (t) => {
    const database = await createTestDatabase();
    const db = createDb({ db: { url: database.url, poolMax } });
    t.context = { database, db, stores: createStores(db) };
  });
  test.after.always(async (t) => {
    await t.context.db?.destroy();
    await t.context.database?.drop();
  });
}

export const newMailbox = (stores: Stores, opts: { planId?: string; ttlMs?: number } = {}) =>
  stores.mailboxes.create({
    address: `m${randomBytes(6).toString('hex')}@mw.test`,
    ownerUserId: null,
    planId: opts.planId ?? 'pro',
    ttlMs: opts.ttlMs ?? 3_600_000,
  });

/** A parsed message ready for the delivery write; `over` replaces any field. */
export const newMessage = (
  mailboxId: string,
  ingressId = ulid(),
  over: Partial<Omit<NewMessage, 'seq'>> = {},
): Omit<NewMessage, 'seq'> => ({
  id: ulid(),
  mailboxId,
  ingressId,
  tag: null,
  source: 'smtp',
  envelopeFrom: 'a@example.org',
  envelopeTo: ['x@mw.test'],
  messageIdHeader: null,
  fromAddress: 'a@example.org',
  fromName: null,
  to: [{ address: 'x@mw.test', name: '' }],
  cc: [],
  replyTo: [],
  subject: 'test',
  text: 'hello',
  html: null,
  headers: [{ name: 'subject', value: 'test' }],
  attachments: [],
  codes: [],
  links: [],
  parseError: null,
  sentAt: null,
  raw: Buffer.from('Subject: test\r\n\r\nhello\r\n'),
  receivedAt: new Date(),
  ...over,
});
