import type { System } from './system.js';
import { call, createTenant, type Tenant } from './tenants.js';

/** Environment for a system that sends through a local sink, with retries fast enough for a test. */
export const outboundEnv = (relayUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
  OUTBOUND_RELAY_URL: relayUrl,
  OUTBOUND_BACKOFF_MS: '100',
  OUTBOUND_BACKOFF_MAX_MS: '300',
  // the lock must exceed the SMTP timeout (core/config.ts refuses otherwise): a short lock recovers a killed
  // worker's claim quickly; 1.5 s per SMTP step is ample against a local sink
  OUTBOUND_LOCK_MS: '2000',
  OUTBOUND_MAX_ATTEMPTS: '3',
  OUTBOUND_SMTP_TIMEOUT_MS: '1500',
  ...extra,
});

/** A tenant (plan `pro`) and one hosted mailbox of theirs. */
export async function senderMailbox(sys: System, plan = 'pro'): Promise<{ tenant: Tenant; address: string }> {
  const tenant = await createTenant(sys, plan);
  const m = await sys.createMailbox('', tenant.apiKey);
  return { tenant, address: m.address };
}

export const sendPath = (address: string) => `/api/v1/mailboxes/${encodeURIComponent(address)}/outbound`;

/** POST …/outbound */
export const postSend = (
  sys: System,
  address: string,
  token: string,
  body: unknown,
  headers?: Record<string, string>,
) => call(sys, 'POST', sendPath(address), { token, body, ...(headers ? { headers } : {}) });

/** One outbound message's row (tests read Postgres directly to assert what was stored). */
export const outboundRow = (sys: System, id: string) => sys.deps.db('outbound_messages').where({ id }).first();

/** Poll until the row has one of these statuses (tests only: the product never polls). */
export async function waitForStatus(sys: System, id: string, statuses: string[], timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await outboundRow(sys, id);
    if (row && statuses.includes(row.status)) return row;
    if (Date.now() > until) throw new Error(`outbound ${id}: still ${row?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The event types of one outbound message, oldest first. */
export const eventTypes = async (sys: System, id: string): Promise<string[]> =>
  (await sys.deps.db('outbound_message_events').where({ outbound_message_id: id }).orderBy('id')).map(
    (e: { type: string }) => e.type,
  );

/** Row counts of the tables a request writes: "nothing stored" is these staying equal (the worker adds events). */
export async function outboundCounts(sys: System) {
  const out = { outbound_sends: 0, outbound_messages: 0, suppressions: 0, idempotency_keys: 0 };
  for (const table of Object.keys(out) as Array<keyof typeof out>) {
    const [r] = await sys.deps.db(table).count<{ n: string }[]>({ n: '*' });
    out[table] = Number(r?.n ?? 0);
  }
  return out;
}
