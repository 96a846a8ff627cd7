import pg from 'pg';
import type { LoadResult, LoadSpec } from './ingest-load.js';
import { runToEnd } from './ingest-procs.js';
import { fmt, latencyOf, showLatency, type Latency } from './ingest-stats.js';

export interface PhaseOutcome {
  system: 'mailwright' | 'maildev';
  name: string;
  offered: number;
  accepted: number;
  /** messages/s from the first byte to the last commit (Mailwright) or the last 250 (MailDev, which stores before it answers) */
  rate: number;
  /** messages/s from the first byte to the last 250 (SMTP acceptance only) */
  ackRate: number;
  /** end of DATA → committed (Mailwright) */
  commit: Latency | null;
  /** end of DATA → 250 */
  ack: Latency;
  /** end of DATA → push received by a subscriber (WebSocket), when the phase subscribed */
  push: Latency | null;
  /** highest and final length of the inbound queue's wait list during the measured part, when sampled */
  queue: { max: number; atEnd: number } | null;
  problems: string[];
  /** CPU ms per accepted message, by process (load generator included) */
  cpu: Record<string, number>;
  /** read/write system calls per accepted message, by role process */
  calls: Record<string, number>;
}

/** what a phase needs from the running bench */
export interface PhaseContext {
  root: string;
  db: pg.Client;
  cpuSnapshot: () => Promise<Map<string, number>>;
  cpuPerMessage: (before: Map<string, number>, after: Map<string, number>, n: number) => Record<string, number>;
  callsPerMessage: (before: Map<string, number>, after: Map<string, number>, n: number) => Record<string, number>;
}

async function measured(ctx: PhaseContext, spec: LoadSpec) {
  const before = await ctx.cpuSnapshot();
  const r = await drive(spec, ctx.root);
  const after = await ctx.cpuSnapshot();
  const n = Math.max(1, r.accepted + (r.leadInAccepted ?? 0));
  return {
    r,
    cpu: { ...ctx.cpuPerMessage(before, after, n), load: r.cpuMs / n },
    calls: ctx.callsPerMessage(before, after, n),
  };
}

/** Start the load generator (a separate process) with `spec`, wait for its JSON result. */
export async function drive(spec: LoadSpec, root: string): Promise<LoadResult & { t0Epoch: number }> {
  const t0Epoch = Date.now();
  const out = await runToEnd(['--import', 'tsx', 'bench/ingest-load.ts', JSON.stringify(spec)], {}, root, 10 * 60_000);
  const line = out.trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(line) as LoadResult), t0Epoch };
}

/** Rows of one phase (by the Subject tag) actually in Postgres. */
export async function storedOf(db: pg.Client, tag: string): Promise<number> {
  const r = await db.query<{ n: string }>('select count(*) as n from messages where subject like $1', [
    `mwbench ${tag} %`,
  ]);
  return Number(r.rows[0]!.n);
}

export async function storedTotal(db: pg.Client): Promise<number> {
  const r = await db.query<{ n: string }>('select count(*) as n from messages');
  return Number(r.rows[0]!.n);
}

/**
 * A Mailwright phase: drive the load, then confirm every accepted message is a row in Postgres
 * (polling with a deadline when some commit events were missed; the end time is then when the rows were seen).
 */
export async function mailwrightPhase(name: string, spec: LoadSpec, ctx: PhaseContext): Promise<PhaseOutcome> {
  const { db } = ctx;
  const { r, cpu, calls } = await measured(ctx, spec);
  const problems = [...r.rejected];
  if (spec.push && r.pushed < r.accepted) problems.push(`${r.accepted - r.pushed} pushes not received`);
  // end to end to the push when the phase subscribed, else to the commit event
  let endMs = (spec.push ? r.lastPushMs : r.lastCommitMs) ?? NaN;
  let rows = await storedOf(db, spec.tag);
  if (rows < r.accepted || r.committed < r.accepted) {
    const until = Date.now() + 30_000;
    while (rows < r.accepted && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 50));
      rows = await storedOf(db, spec.tag);
    }
    endMs = Date.now() - r.t0Epoch;
    problems.push(`${r.accepted - r.committed} commit events missed; end time taken from Postgres polling`);
  }
  if (rows !== r.accepted) problems.push(`${r.accepted} accepted but ${rows} rows in Postgres`);
  return {
    system: 'mailwright',
    name,
    offered: r.offered,
    accepted: r.accepted,
    rate: (rows / endMs) * 1000,
    ackRate: (r.accepted / r.lastAckMs) * 1000,
    commit: latencyOf(r.commitLatencies),
    ack: latencyOf(r.ackLatencies),
    push: spec.push ? latencyOf(r.pushLatencies) : null,
    queue: queueOf(r),
    problems,
    cpu: cpuOf(cpu, ['all', 'worker', 'smtp', 'web', 'postgres', 'redis', 'load']),
    calls: cpuOf(calls, ['all', 'worker', 'smtp', 'web']),
  };
}

/** A MailDev phase: it parses and keeps the message before it answers 250; its API count is checked. */
export async function maildevPhase(
  name: string,
  spec: LoadSpec,
  ctx: PhaseContext,
  apiUrl: string,
  before: number,
): Promise<PhaseOutcome & { total: number }> {
  const { r, cpu, calls } = await measured(ctx, spec);
  const problems = [...r.rejected];
  const res = await fetch(`${apiUrl}/api/email/summary?limit=1`);
  const total = ((await res.json()) as { total: number }).total;
  const expected = r.accepted + (r.leadInAccepted ?? 0);
  if (total - before !== expected) problems.push(`${expected} accepted but MailDev lists ${total - before} new`);
  if (spec.push && r.pushed < r.accepted) problems.push(`${r.accepted - r.pushed} pushes not received`);
  return {
    system: 'maildev',
    name,
    offered: r.offered,
    accepted: r.accepted,
    // with a subscriber: first byte -> last push; else -> last 250 (MailDev stores before it answers)
    rate:
      (r.accepted / (spec.push && r.lastPushMs !== null ? Math.max(r.lastPushMs, r.lastAckMs) : r.lastAckMs)) * 1000,
    ackRate: (r.accepted / r.lastAckMs) * 1000,
    commit: null,
    ack: latencyOf(r.ackLatencies),
    push: spec.push ? latencyOf(r.pushLatencies) : null,
    queue: null,
    problems,
    cpu: cpuOf(cpu, ['maildev', 'redis', 'load']),
    calls: cpuOf(calls, ['maildev']),
    total,
  };
}

const queueOf = (r: LoadResult) => (r.queueMax === null ? null : { max: r.queueMax, atEnd: r.queueAtEnd ?? NaN });

/** the `keep` entries that were measured, in that order (a layout without a role has no entry for it) */
const cpuOf = (all: Record<string, number>, keep: string[]) =>
  Object.fromEntries(keep.filter((k) => k in all).map((k) => [k, all[k]!]));

export const cpuTotal = (p: PhaseOutcome) => Object.values(p.cpu).reduce((a, b) => a + b, 0);

export const showCpu = (p: PhaseOutcome) =>
  `${Object.entries(p.cpu)
    .map(([k, v]) => `${k} ${fmt(v, 2)}`)
    .join(', ')} = ${fmt(cpuTotal(p), 2)} ms CPU/msg`;

export const showPhase = (p: PhaseOutcome) =>
  `${p.system.padEnd(10)} ${p.name.padEnd(22)} ${String(p.accepted).padStart(5)}/${String(p.offered).padEnd(5)} ` +
  `${fmt(p.rate, 0).padStart(6)} msg/s end to end (250s at ${fmt(p.ackRate, 0)} msg/s)\n` +
  (p.commit ? `           end of DATA -> committed: ${showLatency(p.commit)}\n` : '') +
  (p.push ? `           end of DATA -> WS push:   ${showLatency(p.push)}\n` : '') +
  (p.queue ? `           queue (wait list):        max ${p.queue.max}, at the end of sending ${p.queue.atEnd}\n` : '') +
  `           end of DATA -> 250:       ${showLatency(p.ack)}\n` +
  `           CPU per message:          ${showCpu(p)}\n` +
  `           syscalls per message:     ${Object.entries(p.calls)
    .map(([k, v]) => `${k} ${fmt(v, 1)}`)
    .join(', ')} (read + write, any kind)` +
  (p.problems.length ? `\n           PROBLEMS: ${p.problems.slice(0, 5).join(' | ')}` : '');
