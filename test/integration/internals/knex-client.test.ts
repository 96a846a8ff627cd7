import test from 'ava';
import { createDb } from '../../../src/store/db.js';
import { preparedQuery } from '../../../src/store/prepared.js';
import { ADMIN_URL } from '../../helpers/db.js';

// docs/internals.md, row "knex client.acquireConnection": preparedQuery in
// src/store/prepared.ts runs named prepared statements on a raw pg connection taken from knex's client, and
// relies on a transaction's client handing out the transaction's own connection (so the statement is part
// of the transaction). Neither is in knex's documentation. Only reads; the admin database is enough. Serial:
// the first test counts the pool's connections in use.
const ROW = 'internals.md row "knex client.acquireConnection" (src/store/prepared.ts preparedQuery)';

type Conn = {
  query: (q: { name?: string; text: string; values?: unknown[] }) => Promise<{ rows: Array<Record<string, unknown>> }>;
};
type Client = { acquireConnection?: () => Promise<Conn>; releaseConnection?: (c: Conn) => Promise<unknown> };

const db = createDb({ db: { url: ADMIN_URL, poolMax: 2 } });
test.after.always(() => db.destroy());

test.serial(
  "knex's client lends a raw pg connection that runs named prepared statements, and takes it back",
  async (t) => {
    const client = db.client as Client;
    t.is(typeof client.acquireConnection, 'function', `${ROW}: acquireConnection is gone`);
    t.is(typeof client.releaseConnection, 'function', `${ROW}: releaseConnection is gone`);
    const conn = await client.acquireConnection!();
    try {
      t.is(typeof conn.query, 'function', `${ROW}: the lent connection is not a pg client`);
      const r = await conn.query({ name: 'mw_internals_probe', text: 'select $1::int + 1 as n', values: [41] });
      t.is(r.rows[0]?.n, 42, ROW);
    } finally {
      await client.releaseConnection!(conn);
    }
    const pool = (db.client as { pool?: { numUsed(): number } }).pool;
    t.is(pool?.numUsed(), 0, `${ROW}: the connection was not returned to the pool`);
  },
);

test.serial("inside a transaction, the transaction's client lends the transaction's own connection", async (t) => {
  await db.transaction(async (trx) => {
    const inTrx = (await trx.raw('select pg_backend_pid() as pid, txid_current() as xid')).rows[0];
    const client = trx.client as Client;
    const conn = await client.acquireConnection!();
    try {
      const lent = (await conn.query({ text: 'select pg_backend_pid() as pid, txid_current() as xid' })).rows[0];
      t.is(
        lent?.pid,
        inTrx.pid,
        `${ROW}: a transaction's client lent another connection: prepared statements would run outside the transaction`,
      );
      t.is(String(lent?.xid), String(inTrx.xid), `${ROW}: not the same transaction`);
    } finally {
      await client.releaseConnection!(conn);
    }
    // and preparedQuery itself runs in the transaction
    const viaPrepared = await preparedQuery<{ xid: string }>(
      trx,
      'mw_internals_xid',
      'select txid_current()::text as xid',
      [],
    );
    t.is(viaPrepared[0]?.xid, String(inTrx.xid), ROW);
  });
});
