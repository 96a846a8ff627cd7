// npm run bench:attachments: time and CPU per attachment download of a 990-part message (mailsplit's limit is
// 1,000 nodes), through the HTTP API, from the attachment's recorded place (issue 24) and by the old path (the
// whole message re-parsed: the same message with its places cleared). Web, worker and SMTP run in this process,
// so the CPU figure is the process's (server and client) per download.
import { RawSmtp } from '../test/helpers/smtp-client.js';
import { startSystem, type System } from '../test/helpers/system.js';

const PARTS = Number(process.env.BENCH_PARTS ?? 990);
const DOWNLOADS = Number(process.env.BENCH_DOWNLOADS ?? 30);

const b64 = (s: string) => Buffer.from(s).toString('base64').replace(/.{76}/g, '$&\r\n');

const message = (to: string) =>
  [
    'From: a@example.org',
    `To: ${to}`,
    'Subject: many parts',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary=k',
    '',
    '--k',
    'Content-Type: text/plain',
    '',
    'body',
    ...Array.from({ length: PARTS - 2 }, (_, i) => [
      '--k',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename=p${i}.bin`,
      '',
      b64(`part ${i} `.repeat(10)),
    ]).flat(),
    '--k--',
    '',
  ].join('\r\n');

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function downloads(sys: System, box: { address: string; token: string }, id: string, count: number) {
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < DOWNLOADS; i++) {
    const n = (i * 37) % count;
    const started = performance.now();
    const r = await sys.api(`/api/v1/mailboxes/${box.address}/messages/${id}/attachments/${n}`, { token: box.token });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`attachment ${n}: ${r.status}`);
    ms.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMsPer: (cpu.user + cpu.system) / 1000 / DOWNLOADS };
}

const sys = await startSystem({ env: { RATE_LIMIT_ENABLED: 'false' } });
try {
  const box = await sys.createMailbox();
  const raw = message(box.address);
  const sent = await RawSmtp.sendOnce(sys.smtpPort, 'a@example.org', [box.address], raw);
  if (!sent.data.startsWith('250')) throw new Error(sent.data);
  const [item] = await sys.waitForMessages(box.address, box.token, 1, 60_000);
  const row = await sys.deps
    .db('messages')
    .where({ id: item.id })
    .first(
      sys.deps.db.raw('jsonb_array_length(attachments) as n'),
      sys.deps.db.raw('attachment_parts is not null as placed'),
    );
  const count = Number(row.n);
  console.log(`# Attachment download cost (${new Date().toISOString()}, node ${process.version})`);
  console.log(
    `message: ${PARTS} MIME parts, ${count} attachments, ${Buffer.byteLength(raw)} bytes; places recorded: ${row.placed}`,
  );
  console.log(`${DOWNLOADS} sequential downloads of different attachments per path, through the HTTP API\n`);
  console.log('| path | p50 ms | p95 ms | max ms | CPU ms per download (process) |');
  console.log('| --- | --- | --- | --- | --- |');
  const show = (label: string, r: { ms: number[]; cpuMsPer: number }) =>
    console.log(
      `| ${label} | ${pct(r.ms, 50).toFixed(1)} | ${pct(r.ms, 95).toFixed(1)} | ${Math.max(...r.ms).toFixed(1)} | ${r.cpuMsPer.toFixed(1)} |`,
    );
  show('recorded place (new)', await downloads(sys, box, item.id, count));
  await sys.deps.db('messages').where({ id: item.id }).update({ attachment_parts: null });
  show('re-parse of the whole message (old; places cleared)', await downloads(sys, box, item.id, count));
} finally {
  await sys.stop();
}
process.exit(0);
