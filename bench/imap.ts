// npm run bench:imap — connected mailboxes against a private local Dovecot (test/helpers/dovecot.ts), through a
// counting TCP proxy (bytes the server sent, sessions open at once). Needs Postgres, Redis and Debian dovecot-imapd.
// BENCH_IMAP_MESSAGES (100), BENCH_IMAP_ATTACHMENT_MB (25), BENCH_IMAP_ROUNDS (200: requests per latency figure),
// BENCH_IMAP_CONCURRENT (50) change the sizes; BENCH_IMAP_JSON=<file> also writes the figures as JSON.
// Run with --expose-gc (the npm script does) so the memory baselines are taken after a full collection.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { connect, type Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import { countingProxy } from '../test/helpers/counting-proxy.js';
import { startDovecot, type Dovecot } from '../test/helpers/dovecot.js';
import { startSystem, type System } from '../test/helpers/system.js';
import { call, createTenant } from '../test/helpers/tenants.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const MESSAGES = num('BENCH_IMAP_MESSAGES', 100);
const ATTACHMENT_MB = num('BENCH_IMAP_ATTACHMENT_MB', 25);
const ROUNDS = num('BENCH_IMAP_ROUNDS', 200);
const CONCURRENT = num('BENCH_IMAP_CONCURRENT', 50);
const LIST = 50;
const PASSWORD = 'bench-Imap-pw-1c7e';
const BOX = 'bench@example.org';
const base = `/api/v1/mailboxes/${BOX}`;
const MB = 1024 * 1024;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const print = (label: string, value: string) => console.log(`${label.padEnd(64)} ${value}`);
const mb = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / MB).toFixed(2)} MB`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The message: a short text part and an attachment of ATTACHMENT_MB MiB of random bytes, base64 in 76-char lines. */
function bigMessage(attachment: Buffer): Buffer {
  const head = [
    'From: Reports <reports@example.net>',
    'To: bench@example.org',
    'Subject: nightly export',
    'Date: Sun, 6 Dec 2026 04:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The export is attached. Your code: 731902',
    '--b',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="export.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\r\n');
  const body = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.concat([Buffer.from(head), Buffer.from(body), Buffer.from('\r\n--b--\r\n')]);
}

/**
 * MESSAGES copies of one message in INBOX: the first through seedMaildir, the others hard links to its file under
 * new Maildir names (each a message of its own to Dovecot, UIDs in name order), so 100 × 34 MB cost one file.
 */
function seed(dv: Dovecot, raw: Buffer) {
  dv.seedMaildir('alice', 'INBOX', [raw]);
  const cur = join(dv.dir, 'mail', 'alice', 'cur');
  const [first] = readdirSync(cur);
  const stamp = Math.floor(Date.now() / 1000);
  for (let i = 1; i < MESSAGES; i++)
    linkSync(join(cur, first!), join(cur, `${stamp + i}.P${process.pid}Q${i}.mw-bench:2,`));
}

/**
 * The most memory `work` holds at once above the level right before it (after a full GC): heap in use plus Buffer
 * memory, sampled every 20 ms right after a minor GC (a scavenge: chunks already passed on are not counted as
 * held; a full GC takes ~300 ms on a loaded 2-core host and would starve the work). Old-generation garbage can still
 * count: the figure is an upper bound of what the code keeps. Needs --expose-gc (else sampled as it is).
 */
async function memoryGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc ?? (() => undefined);
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc();
  gc();
  const start = used();
  let peak = start;
  const sample = () => {
    gc({ type: 'minor' });
    peak = Math.max(peak, used());
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

/** A download read to its end chunk by chunk (never held whole): its sha256 and size. */
async function download(sys: System, path: string, token: string) {
  const res = await sys.api(path, { token });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha: hash.digest('hex'), size };
}

/** Dovecot's own floor: LOGIN, EXAMINE, UID FETCH of the same items as a listing, LOGOUT on a raw socket. */
async function rawListing(port: number, uids: string): Promise<number> {
  const t0 = performance.now();
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(text)) {
          socket.off('data', onData);
          resolve();
        }
      };
      const onData = (d: Buffer) => {
        text += d.toString('latin1');
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  await waitFor(/^\* OK/m);
  socket.write(`a LOGIN alice ${PASSWORD}\r\n`);
  await waitFor(/^a OK/m);
  socket.write('b EXAMINE INBOX\r\n');
  await waitFor(/^b OK/m);
  socket.write(`c UID FETCH ${uids} (UID FLAGS INTERNALDATE BODYSTRUCTURE ENVELOPE)\r\n`);
  await waitFor(/^c OK/m);
  socket.write('d LOGOUT\r\n');
  await waitFor(/^d OK/m);
  socket.destroy();
  return performance.now() - t0;
}

async function latencies(n: number, one: () => Promise<number>) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await one());
  ms.sort((a, b) => a - b);
  return { p50: pct(ms, 50), p99: pct(ms, 99) };
}

async function main() {
  const dv = await startDovecot({ users: [{ user: 'alice', password: PASSWORD }] });
  const proxy = await countingProxy(dv.port);
  let sys: System | undefined;
  try {
    const attachment = randomBytes(ATTACHMENT_MB * MB);
    const raw = bigMessage(attachment);
    let t0 = performance.now();
    seed(dv, raw);
    print(
      `seed: ${MESSAGES} messages of ${mb(raw.length)} (one file, hard links)`,
      `${(performance.now() - t0).toFixed(0)} ms`,
    );
    // Dovecot parses each message once for BODYSTRUCTURE and caches it: done here, outside every figure below
    t0 = performance.now();
    const warm = new ImapFlow(dv.imapOptions('alice'));
    await warm.connect();
    await warm.mailboxOpen('INBOX', { readOnly: true });
    await warm.fetchAll('1:*', { uid: true, bodyStructure: true, envelope: true });
    await warm.logout();
    print(
      `Dovecot's first parse of ${MESSAGES} messages (its cache, not measured)`,
      `${(performance.now() - t0).toFixed(0)} ms`,
    );

    sys = await startSystem({
      roles: ['web'],
      env: { CONNECTED_ALLOW_HOSTS: '127.0.0.1', RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'silent' },
    });
    const owner = await createTenant(sys, 'pro');
    const created = await call(sys, 'POST', '/api/v1/mailboxes', {
      token: owner.apiKey,
      body: {
        kind: 'connected',
        address: BOX,
        imap: { host: '127.0.0.1', port: proxy.port, tls: 'none', username: 'alice', password: PASSWORD },
      },
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
    const key = owner.apiKey;
    const { counts } = proxy;
    const fetched = async <T>(work: () => Promise<T>) => {
      const before = counts.fromServer;
      const { result, growth } = await memoryGrowth(work);
      // bytes arrive before the answer is complete; the LOGOUT exchange after it is a few bytes
      await new Promise((r) => setTimeout(r, 50));
      return { result, growth, bytes: counts.fromServer - before };
    };

    const list = await fetched(() => call(sys!, 'GET', `${base}/messages?limit=${MESSAGES}`, { token: key }));
    if (list.result.status !== 200 || list.result.body.length !== MESSAGES)
      throw new Error(`list: ${list.result.status} ${list.result.text.slice(0, 300)}`);
    print(`GET …/messages?limit=${MESSAGES}: fetched from IMAP`, `${mb(list.bytes)} (goal < 2 MB)`);
    print(`GET …/messages?limit=${MESSAGES}: web-process live memory growth`, `${mb(list.growth)} (goal < 30 MB)`);

    const id = list.result.body[0].id as string;
    const one = await fetched(() => call(sys!, 'GET', `${base}/messages/${id}?peek=true`, { token: key }));
    if (one.result.status !== 200) throw new Error(`get: ${one.result.status} ${one.result.text}`);
    print('GET …/messages/{id}: fetched from IMAP', `${mb(one.bytes)} (goal < 1 MB)`);
    print(
      'GET …/messages/{id}: codes found',
      JSON.stringify(one.result.body.codes.map((c: { code: string }) => c.code)),
    );
    print(
      'GET …/messages/{id}: attachment size shown / actual',
      `${one.result.body.attachments[0].size} / ${attachment.length}`,
    );

    const att = await fetched(() => download(sys!, `${base}/messages/${id}/attachments/0`, key));
    print(`GET …/attachments/0 (${mb(att.result.size)}): sha256 matches`, String(att.result.sha === sha(attachment)));
    print('GET …/attachments/0: fetched from IMAP', mb(att.bytes));
    print('GET …/attachments/0: web-process live memory growth', `${mb(att.growth)} (goal < 30 MB)`);

    const rawDl = await fetched(() => download(sys!, `${base}/messages/${id}/raw`, key));
    print(`GET …/raw (${mb(rawDl.result.size)}): sha256 matches`, String(rawDl.result.sha === sha(raw)));
    print('GET …/raw: web-process live memory growth', `${mb(rawDl.growth)} (goal < 30 MB)`);

    // a 50-message listing, one request at a time, beside Dovecot's own floor on a raw socket (both through the proxy)
    const api = await latencies(ROUNDS, async () => {
      const s = performance.now();
      const r = await call(sys!, 'GET', `${base}/messages?limit=${LIST}`, { token: key });
      if (r.status !== 200) throw new Error(`list ${LIST}: ${r.status}`);
      return performance.now() - s;
    });
    const top = list.result.body.slice(0, LIST).map((m: { id: string }) => m.id.split('.')[1]);
    const floor = await latencies(ROUNDS, () => rawListing(proxy.port, top.join(',')));
    print(
      `${LIST}-message listing through the API, ${ROUNDS} requests: p50 / p99`,
      `${api.p50.toFixed(1)} / ${api.p99.toFixed(1)} ms (goal ≤ 50 / 150)`,
    );
    print(
      `Dovecot's floor (raw LOGIN/EXAMINE/UID FETCH/LOGOUT): p50 / p99`,
      `${floor.p50.toFixed(1)} / ${floor.p99.toFixed(1)} ms`,
    );

    // CONCURRENT API calls on one mailbox at once: sessions open at once never above the cap
    await dv.waitForLog((c) => c.logins === c.loggedOut);
    counts.max = 0;
    const replies = await Promise.all(
      Array.from({ length: CONCURRENT }, () => call(sys!, 'GET', `${base}/messages?limit=10`, { token: key })),
    );
    const served = replies.filter((r) => r.status === 200).length;
    const busy = replies.filter((r) => r.status === 503).length;
    const cap = sys.config.connected.imapMaxConnectionsPerMailbox;
    print(
      `${CONCURRENT} concurrent lists: served / 503 imap_busy / other`,
      `${served} / ${busy} / ${CONCURRENT - served - busy}`,
    );
    print(`${CONCURRENT} concurrent lists: most IMAP sessions open at once (cap ${cap})`, String(counts.max));

    const log = await dv.waitForLog((c) => c.logins === c.loggedOut, 10_000).catch(() => dv.logCounts());
    print(
      "Dovecot's log afterwards: LOGINs / LOGOUTs / sessions ended",
      `${log.logins} / ${log.loggedOut} / ${log.logouts}`,
    );

    const metrics = sys.deps.metrics;
    const sessions = Object.fromEntries(
      (await metrics.imapSessions.get()).values.map((v) => [v.labels.outcome, v.value]),
    );
    print('mailwright_imap_sessions_total by outcome', JSON.stringify(sessions));
    print('load average (1 min) at the end, on this machine', loadavg()[0]!.toFixed(1));

    const figures = {
      date: new Date().toISOString().slice(0, 10),
      command: 'npm run bench:imap',
      machine: `${cpus().length} cores, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end`,
      messages: MESSAGES,
      attachment_bytes: attachment.length,
      message_bytes: raw.length,
      list_all: { fetched_bytes: list.bytes, memory_growth_bytes: list.growth },
      get_one: { fetched_bytes: one.bytes },
      attachment: {
        sha256_ok: att.result.sha === sha(attachment),
        fetched_bytes: att.bytes,
        memory_growth_bytes: att.growth,
      },
      raw: { sha256_ok: rawDl.result.sha === sha(raw), memory_growth_bytes: rawDl.growth },
      list_50: {
        rounds: ROUNDS,
        api_p50_ms: +api.p50.toFixed(1),
        api_p99_ms: +api.p99.toFixed(1),
        dovecot_p50_ms: +floor.p50.toFixed(1),
        dovecot_p99_ms: +floor.p99.toFixed(1),
      },
      concurrent: { calls: CONCURRENT, served, busy, max_sessions: counts.max, cap },
      dovecot_log: log,
      sessions,
    };
    if (process.env.BENCH_IMAP_JSON)
      writeFileSync(process.env.BENCH_IMAP_JSON, `${JSON.stringify(figures, null, 1)}\n`);
  } finally {
    await sys?.stop();
    proxy.close();
    await dv.stop();
  }
}

await main();
