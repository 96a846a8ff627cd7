// npm run bench:smtp-abuse: a normal sender's latency while one address holds its maximum of SMTP sessions
// (SMTP_MAX_CLIENTS_PER_IP) and while idle sessions from many addresses fill the server (eviction of the idlest),
// against the same load with the issue-24 protections turned off. Loopback only: the "addresses" are 127.0.0.x.
import { connect, type Socket } from 'node:net';
import { RawSmtp } from '../test/helpers/smtp-client.js';
import { startSystem, TEST_DOMAIN, type System } from '../test/helpers/system.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const MAX_CLIENTS = num('BENCH_MAX_CLIENTS', 1000);
const PER_IP = num('BENCH_PER_IP', 100);
const SENDS = num('BENCH_SENDS', 40);
const ATTACK = num('BENCH_ATTACK_CONNECTIONS', 1000);

const log = (line: string) => console.log(line);

/** Open an idle connection from `from` and wait for its greeting: kept open when it was 220. */
const idle = (port: number, from: string) =>
  new Promise<{ socket: Socket; greeting: string }>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buffer += d;
      if (buffer.includes('\r\n')) resolve({ socket, greeting: buffer.trim() });
    });
    socket.on('error', () => resolve({ socket, greeting: 'error' }));
    socket.on('close', () => resolve({ socket, greeting: buffer.trim() || 'closed' }));
  });

/** One message in a fresh session from `from`: ms from connect to the 250 (or the reply that refused it). */
const sendOne = async (sys: System, from: string) => {
  const started = performance.now();
  const { client, greeting } = await RawSmtp.open(sys.smtpPort, '127.0.0.1', from).catch((e: Error) => ({
    client: undefined,
    greeting: e.message,
  }));
  if (!client || !greeting.startsWith('220')) {
    client?.socket.destroy();
    return { ms: performance.now() - started, ok: false, reply: greeting.slice(0, 60) };
  }
  await client.command('EHLO sender.test');
  await client.command('MAIL FROM:<s@example.org>');
  await client.command(`RCPT TO:<box@${TEST_DOMAIN}>`);
  const reply = await client.data('Subject: hello\r\n\r\nhello\r\n');
  await client.command('QUIT').catch(() => '');
  client.socket.destroy();
  return { ms: performance.now() - started, ok: reply.startsWith('250'), reply: reply.slice(0, 60) };
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

/** SENDS messages one after another; latency percentiles and how many were refused. */
const measure = async (sys: System, from: string, label: string) => {
  const results = [];
  for (let i = 0; i < SENDS; i++) results.push(await sendOne(sys, from));
  const ok = results.filter((r) => r.ok).map((r) => r.ms);
  const refused = results.filter((r) => !r.ok);
  log(
    `| ${label} | ${ok.length}/${SENDS} | ${pct(ok, 50).toFixed(1)} | ${pct(ok, 95).toFixed(1)} | ${Math.max(0, ...ok).toFixed(1)} | ${refused[0]?.reply ?? ''} |`,
  );
};

const run = async (protections: boolean) => {
  const env: Record<string, string> = {
    SMTP_MAX_CLIENTS: String(MAX_CLIENTS),
    RATE_LIMIT_ENABLED: 'false',
    MAIL_DOMAINS: TEST_DOMAIN,
    ...(protections
      ? { SMTP_MAX_CLIENTS_PER_IP: String(PER_IP), SMTP_EVICT_IDLE_MS: '1000' }
      : {
          SMTP_MAX_CLIENTS_PER_IP: String(MAX_CLIENTS),
          SMTP_RESERVED_CLIENTS_PERCENT: '0',
          SMTP_EVICT_IDLE_MS: '86400000',
        }),
  };
  const sys = await startSystem({ roles: ['smtp'], env });
  const held: Socket[] = [];
  try {
    log(`\n### ${protections ? 'with' : 'without'} the issue-24 protections (${JSON.stringify(env)})\n`);
    log('| phase | delivered | p50 ms | p95 ms | max ms | first refusal |');
    log('| --- | --- | --- | --- | --- | --- |');
    await measure(sys, '127.0.0.3', 'baseline (no other client)');

    // one address opens ATTACK idle connections (20 at a time) and keeps every one it gets
    let got = 0;
    for (let i = 0; i < ATTACK; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, ATTACK - i) }, () => idle(sys.smtpPort, '127.0.0.2')),
      );
      for (const b of batch) {
        if (b.greeting.startsWith('220')) {
          held.push(b.socket);
          got++;
        } else b.socket.destroy();
      }
    }
    await measure(sys, '127.0.0.3', `127.0.0.2 holds ${got} idle sessions (of ${ATTACK} tried)`);

    // many addresses (127.0.1.x, each up to its cap) fill every session left with idle ones
    let more = 0;
    for (let a = 1; a < 250 && more + got < MAX_CLIENTS; a++) {
      // the last SMTP_RESERVED_CLIENTS_PERCENT (10 %) go one per address: ask for one there
      const reserveZone = protections && got + more >= MAX_CLIENTS * 0.9;
      const want = reserveZone ? 1 : Math.min(PER_IP, MAX_CLIENTS - got - more);
      const batch = await Promise.all(Array.from({ length: want }, () => idle(sys.smtpPort, `127.0.1.${a}`)));
      for (const b of batch) {
        if (b.greeting.startsWith('220')) {
          held.push(b.socket);
          more++;
        } else b.socket.destroy();
      }
      if (batch.every((b) => !b.greeting.startsWith('220'))) break;
    }
    await new Promise((r) => setTimeout(r, 1_100)); // past SMTP_EVICT_IDLE_MS: every held session is idle
    await measure(sys, '127.0.0.4', `server full: ${got + more} idle sessions from many addresses`);
  } finally {
    for (const s of held) s.destroy();
    await sys.stop();
  }
};

log(`# SMTP slot exhaustion (${new Date().toISOString()}, node ${process.version})`);
log(
  `SMTP_MAX_CLIENTS=${MAX_CLIENTS}, ${SENDS} sequential messages per phase, each in a new session; latency = connect to 250`,
);
await run(true);
await run(false);
process.exit(0);
