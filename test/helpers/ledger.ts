import type { Knex } from 'knex';

export interface LedgerReport {
  sent: number;
  acked: number;
  stored: number;
  lost: string[];
  duplicated: string[];
  unacknowledgedButStored: number;
}

/**
 * Every test message carries a unique id in its Subject. `ack(id)` records a 250; `reconcile(db)`
 * compares what was acknowledged with what Postgres holds: lost = acknowledged but not stored,
 * duplicated = stored more than once in the same mailbox.
 */
export class Ledger {
  private seq = 0;
  readonly sent = new Set<string>();
  readonly acked = new Set<string>();
  constructor(readonly run: string) {}

  next(): string {
    const id = `${this.run}-${++this.seq}`;
    this.sent.add(id);
    return id;
  }

  ack(id: string) {
    this.acked.add(id);
  }

  async reconcile(db: Knex): Promise<LedgerReport> {
    const rows: Array<{ subject: string; n: string | number }> = await db('messages')
      .select('subject', 'mailbox_id')
      .count<{ subject: string; n: string }[]>({ n: '*' })
      .where('subject', 'like', `${this.run}-%`)
      .groupBy('subject', 'mailbox_id');
    const stored = new Map<string, number>();
    const duplicated: string[] = [];
    for (const r of rows) {
      stored.set(r.subject, (stored.get(r.subject) ?? 0) + 1);
      if (Number(r.n) > 1) duplicated.push(r.subject);
    }
    const lost = [...this.acked].filter((id) => !stored.has(id));
    const unacknowledgedButStored = [...stored.keys()].filter((id) => !this.acked.has(id)).length;
    return {
      sent: this.sent.size,
      acked: this.acked.size,
      stored: stored.size,
      lost,
      duplicated,
      unacknowledgedButStored,
    };
  }
}

export const formatLedger = (name: string, r: LedgerReport, extra: Record<string, unknown> = {}) =>
  `[ledger] ${name}: sent=${r.sent} acked(250)=${r.acked} stored=${r.stored} lost=${r.lost.length} duplicated=${r.duplicated.length}` +
  ` stored-without-250=${r.unacknowledgedButStored}` +
  Object.entries(extra)
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('');
