import { startSystem } from '../test/helpers/system.js';
import { createTenant } from '../test/helpers/tenants.js';
const TEXT = 'x'.repeat(76).concat('\n').repeat(26);
async function main() {
  const sys = await startSystem({ roles: ['web'], env: { OUTBOUND_RELAY_URL: 'smtp://127.0.0.1:9', LOG_LEVEL: 'silent', DATABASE_POOL_MAX: '10' } });
  await sys.deps.db('plans').update({ max_sends_per_day: process.env.UNLIMITED ? null : 1_000_000 });
  const tenant = await createTenant(sys, 'pro');
  const { address } = await sys.createMailbox('', tenant.apiKey);
  const q = new Map<string, { t: number; sql: string }>();
  const stats = new Map<string, { n: number; ms: number }>();
  let count = 0;
  const db = sys.deps.db as any;
  db.on('query', (d: any) => { q.set(d.__knexQueryUid, { t: performance.now(), sql: d.sql }); });
  db.on('query-response', (_r: any, d: any) => { const s = q.get(d.__knexQueryUid); if (!s) return; count++; const k = s.sql.slice(0, 90).replace(/\s+/g,' '); const e = stats.get(k) ?? { n: 0, ms: 0 }; e.n++; e.ms += performance.now() - s.t; stats.set(k, e); });
  const post = async (to: string[], idem?: string) => {
    const t0 = performance.now();
    const res = await fetch(`${sys.baseUrl}/api/v1/mailboxes/${encodeURIComponent(address)}/outbound`, { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...(idem ? { 'idempotency-key': idem } : {}) }, body: JSON.stringify({ to, subject: 'bench', text: TEXT }) });
    await res.arrayBuffer(); if (res.status !== 202) throw new Error(String(res.status));
    return performance.now() - t0;
  };
  for (const per of (process.env.PERS ?? "1,50").split(",").map(Number)) {
    for (let i = 0; i < 5; i++) await post([`w${per}-${i}@example.org`]);
    stats.clear(); count = 0;
    const n = Number(process.env.NREQ ?? (per === 1 ? 100 : 20));
    const times: number[] = []; const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) times.push(await post(Array.from({ length: per }, (_, j) => `p${per}-${i}-${j}@example.org`)));
    times.sort((a, b) => a - b); const c1 = process.cpuUsage(c0); console.log(`cpu per request ${((c1.user + c1.system) / 1000 / n).toFixed(2)} ms`);
    console.log(`per=${per} sequential: p50 ${times[Math.floor(n/2)]!.toFixed(1)} ms max ${times[n-1]!.toFixed(1)}; queries/request ${(count/n).toFixed(1)}`);
    for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) console.log(`  ${(v.n/n).toFixed(1)}x ${(v.ms/n).toFixed(2)}ms ${k}`);
  }
  await sys.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
