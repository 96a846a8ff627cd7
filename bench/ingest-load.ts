import { writeFileSync } from 'node:fs';
// The load generator: a separate process started by bench/run.ts for each phase.
// argv[2] is a JSON LoadSpec; the result is printed as one JSON line (LoadResult) on stdout.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { presetAt, presetMessage, type Preset } from './ingest-mail.js';
import { bodyOf, LoadSmtpConnection, messageOf, subjectOf } from './ingest-smtp-client.js';

export interface LoadSpec {
  host: string;
  port: number;
  /** several smtp processes: connection i connects to ports[i % ports.length] (instead of `port`) */
  ports?: number[];
  connections: number;
  perConnection: number;
  /** approximate total message size in bytes */
  sizeBytes: number;
  /** fixed offered rate over all connections (messages/s); absent = as fast as the server answers */
  ratePerSec?: number;
  /**
   * with ratePerSec: messages per connection sent first at the same rate and left out of every figure
   * (a lead-in, so the figures describe the steady state, not this process's own start)
   */
  leadInPerConnection?: number;
  /** connection i sends to recipients[i % recipients.length] */
  recipients: string[];
  /** unique per phase; part of every Subject */
  tag: string;
  /** commit signal: Mailwright publishes `new_message` on this pattern only after the row committed */
  watch?: { redisUrl: string; pattern: string };
  /** how long to wait for the last commit after the last 250 */
  settleMs: number;
  /** a realistic message preset (bench/ingest-mail.ts) instead of a text/plain body of sizeBytes */
  preset?: Preset;
  /**
   * end to end: subscribe as a client would and time end of DATA -> the push a subscriber receives: Mailwright's
   * WebSocket stream of each mailbox, or MailDev's Socket.IO `newMail` event
   */
  push?: { kind: 'mailwright'; base: string; tokens: string[] } | { kind: 'maildev'; apiUrl: string };
  /** a Redis list to sample during the measured part (the BullMQ wait list): queue growth */
  queue?: { redisUrl: string; key: string };
}

export interface LoadResult {
  tag: string;
  offered: number;
  accepted: number;
  /** lead-in messages accepted (not in any other figure; counted for CPU per message) */
  leadInAccepted: number;
  rejected: string[];
  /** ms, relative to the first connection attempt (first byte) */
  lastAckMs: number;
  /** ms until the last commit event (watch mode) */
  lastCommitMs: number | null;
  committed: number;
  /** end of DATA → 250 reply, ms */
  ackLatencies: number[];
  /** end of DATA → commit event seen, ms (watch mode) */
  commitLatencies: number[];
  /** CPU ms the load generator itself used */
  cpuMs: number;
  /** end of DATA -> push received by a subscriber, ms (with `push`) */
  pushLatencies: number[];
  pushed: number;
  /** ms until the last push (with `push`) */
  lastPushMs: number | null;
  /** the sampled queue length: highest, and at the end of sending (with `queue`) */
  queueMax: number | null;
  queueAtEnd: number | null;
}

/** a subscriber's pushes by Subject (the first arrival of each) */
type OnPush = (subject: string, at: number) => void;

/** one Mailwright WebSocket stream per mailbox; resolves once every stream sent `ready` */
async function mailwrightPush(base: string, boxes: string[], tokens: string[], onPush: OnPush) {
  return Promise.all(
    boxes.map(
      (address, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/mailboxes/${address}/ws?token=${tokens[i]}`, {
            perMessageDeflate: false,
          });
          ws.on('message', (d) => {
            const at = performance.now();
            const f = JSON.parse((d as Buffer).toString()) as { type: string; message?: { subject?: string } };
            if (f.type === 'ready') resolve(ws);
            else if (f.type === 'new_message' && typeof f.message?.subject === 'string') onPush(f.message.subject, at);
          });
          ws.once('error', reject);
        }),
    ),
  );
}

/**
 * MailDev's web UI listens on Socket.IO for `newMail` (sent after MailDev parsed and stored a message). The
 * Engine.IO v4 / Socket.IO v5 protocol spoken directly over a WebSocket: "0{...}" open, "40" connect,
 * "42[event, data]" events, "2" ping answered with "3".
 */
function maildevPush(apiUrl: string, onPush: OnPush): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    ws.on('message', (d) => {
      const at = performance.now();
      const s = (d as Buffer).toString();
      if (s.startsWith('0')) ws.send('40');
      else if (s.startsWith('40')) resolve(ws);
      else if (s === '2') ws.send('3');
      else if (s.startsWith('42')) {
        const [event, mail] = JSON.parse(s.slice(2)) as [string, { subject?: string }];
        if (event === 'newMail' && typeof mail?.subject === 'string') onPush(mail.subject, at);
      }
    });
    ws.once('error', reject);
  });
}

const HEADER_ALLOWANCE = 300;

async function run(spec: LoadSpec): Promise<LoadResult> {
  const body = bodyOf(Math.max(64, spec.sizeBytes - HEADER_ALLOWANCE));
  const offered = spec.connections * spec.perConnection;
  const endOfData = new Map<string, number>();
  const committedAt = new Map<string, number>();
  let allCommitted: (() => void) | undefined;

  let sub: Redis | undefined;
  if (spec.watch) {
    sub = new Redis(spec.watch.redisUrl, { maxRetriesPerRequest: null });
    sub.on('pmessage', (_p: string, _c: string, payload: string) => {
      const at = performance.now();
      let subject: unknown;
      try {
        const e = JSON.parse(payload) as { type?: string; subject?: string; message?: { subject?: string } };
        if (e.type !== 'new_message') return;
        subject = e.message?.subject ?? e.subject;
      } catch {
        return;
      }
      if (typeof subject !== 'string' || !subject.startsWith(`mwbench ${spec.tag} `)) return;
      if (!committedAt.has(subject)) committedAt.set(subject, at);
      if (committedAt.size >= offered) allCommitted?.();
    });
    await sub.psubscribe(spec.watch.pattern);
  }

  const pushedAt = new Map<string, number>();
  let allPushed: (() => void) | undefined;
  const onPush: OnPush = (subject, at) => {
    if (!subject.startsWith(`mwbench ${spec.tag} `) || pushedAt.has(subject)) return;
    pushedAt.set(subject, at);
    if (pushedAt.size >= offered) allPushed?.();
  };
  const sockets: WebSocket[] = [];
  if (spec.push?.kind === 'mailwright')
    sockets.push(...(await mailwrightPush(spec.push.base, spec.recipients, spec.push.tokens, onPush)));
  else if (spec.push?.kind === 'maildev') sockets.push(await maildevPush(spec.push.apiUrl, onPush));

  let queueMax: number | null = null;
  let queueAtEnd: number | null = null;
  let sampling: NodeJS.Timeout | undefined;
  const queueRedis = spec.queue ? new Redis(spec.queue.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
  const sampleQueue = async () => {
    const n = await queueRedis!.llen(spec.queue!.key);
    queueMax = Math.max(queueMax ?? 0, n);
    return n;
  };

  const rejected: string[] = [];
  const ackLatencies: number[] = [];
  let accepted = 0;
  let leadInAccepted = 0;
  let lastAck = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const interval = spec.ratePerSec ? 1000 / spec.ratePerSec : 0;
  const leadIn = interval ? (spec.leadInPerConnection ?? 0) : 0;
  // figures are relative to the first measured message's due time (the first byte when there is no lead-in)
  const t0 = start + leadIn * spec.connections * interval;
  const samplingStart = queueRedis
    ? setTimeout(
        () => {
          sampling = setInterval(() => void sampleQueue().catch(() => undefined), 100);
        },
        Math.max(0, t0 - performance.now()),
      )
    : undefined;
  const messageAt = (conn: number, i: number, to: string, tag = spec.tag) =>
    spec.preset
      ? presetMessage(presetAt(spec.preset, i * spec.connections + conn), tag, conn, i, to)
      : messageOf(tag, conn, i, to, body);

  const connection = async (conn: number) => {
    const to = spec.recipients[conn % spec.recipients.length]!;
    const c = await LoadSmtpConnection.open(spec.host, spec.ports?.[conn % spec.ports.length] ?? spec.port, 30_000);
    try {
      for (let j = -leadIn; j < spec.perConnection; j++) {
        if (interval) {
          // message k of the whole run is due at start + k * interval; connections take turns
          const due = start + ((j + leadIn) * spec.connections + conn) * interval;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        if (j < 0) {
          // lead-in: another tag, so it matches neither the commit watch nor the phase's row count
          const { reply } = await c.send(
            'load@load.test',
            to,
            messageAt(conn, j + leadIn, to, `${spec.tag}lead`),
            30_000,
          );
          if (reply.startsWith('250')) leadInAccepted++;
          else if (rejected.length < 20) rejected.push(reply);
          continue;
        }
        const i = j;
        const subject = subjectOf(spec.tag, conn, i);
        const { reply, endOfData: eod } = await c.send('load@load.test', to, messageAt(conn, i, to), 30_000);
        if (reply.startsWith('250')) {
          accepted++;
          const now = performance.now();
          lastAck = now;
          ackLatencies.push(now - eod);
          endOfData.set(subject, eod);
        } else if (rejected.length < 20) rejected.push(reply);
      }
    } finally {
      await c.quit();
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: spec.connections }, (_, i) => connection(i)));
  for (const o of outcomes)
    if (o.status === 'rejected') rejected.push(`connection failed: ${(o.reason as Error).message}`);

  if (queueRedis) {
    clearTimeout(samplingStart);
    clearInterval(sampling);
    queueAtEnd = await sampleQueue().catch(() => null);
    queueRedis.disconnect();
  }
  let lastPushMs: number | null = null;
  const pushLatencies: number[] = [];
  if (spec.push) {
    if (pushedAt.size < accepted)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, spec.settleMs);
        allPushed = () => {
          clearTimeout(timer);
          resolve();
        };
        if (pushedAt.size >= accepted) allPushed();
      });
    for (const ws of sockets) ws.terminate();
    let last = 0;
    for (const [subject, at] of pushedAt) {
      last = Math.max(last, at);
      const eod = endOfData.get(subject);
      if (eod !== undefined) pushLatencies.push(at - eod);
    }
    lastPushMs = pushedAt.size ? last - t0 : null;
  }

  let lastCommitMs: number | null = null;
  const commitLatencies: number[] = [];
  if (sub) {
    if (committedAt.size < accepted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, spec.settleMs);
        allCommitted = () => {
          clearTimeout(timer);
          resolve();
        };
        if (committedAt.size >= accepted) allCommitted();
      });
    }
    await sub.quit().catch(() => sub?.disconnect());
    let last = 0;
    for (const [subject, at] of committedAt) {
      last = Math.max(last, at);
      const eod = endOfData.get(subject);
      if (eod !== undefined) commitLatencies.push(at - eod);
    }
    lastCommitMs = committedAt.size ? last - t0 : null;
    // BENCH_TRACE: one line per message (end of DATA since the phase start, end of DATA -> committed), to see
    // whether slow messages cluster in time (a pause) or are spread out
    if (process.env.BENCH_TRACE) {
      const lines = [...endOfData].map(
        ([subject, eod]) => `${(eod - t0).toFixed(1)}\t${((committedAt.get(subject) ?? NaN) - eod).toFixed(1)}`,
      );
      writeFileSync(`${process.env.BENCH_TRACE}.${spec.tag}.tsv`, `eod_ms\tcommit_ms\n${lines.join('\n')}\n`);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    tag: spec.tag,
    offered,
    accepted,
    leadInAccepted,
    rejected,
    lastAckMs: lastAck - t0,
    lastCommitMs,
    committed: committedAt.size,
    ackLatencies,
    commitLatencies,
    pushLatencies,
    pushed: pushedAt.size,
    lastPushMs,
    queueMax,
    queueAtEnd,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
run(spec).then(
  // a pipe takes the line asynchronously: exit only once it is written (a long phase's result is hundreds of KB)
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
  },
  (err: unknown) => {
    process.stderr.write(`load generator failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
