// node --import tsx bench/ingest-profile-top.ts <file.cpuprofile> [n]: self time by function and by package.
// PROFILE_SKIP_S=<seconds> leaves out the start of the profile.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const [file, n = '30'] = process.argv.slice(2);
if (!file) throw new Error('usage: ingest-profile-top.ts <file.cpuprofile> [n]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const self = new Map<number, number>();
// PROFILE_SKIP_S: leave out the first seconds of the profile (start-up: module loading, compilation)
const skipUs = Number(process.env.PROFILE_SKIP_S ?? 0) * 1e6;
let at = 0;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at >= skipUs) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const where = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, 'nm:')
    .replace(/.*\/wt-[a-z]+\//, '');
  fn.set(
    `${f.functionName || '(anon)'} ${where}:${f.lineNumber}`,
    (fn.get(`${f.functionName || '(anon)'} ${where}:${f.lineNumber}`) ?? 0) + us,
  );
  const p = where.startsWith('nm:')
    ? where
        .slice(3)
        .split('/')
        .slice(0, where.slice(3).startsWith('@') ? 2 : 1)
        .join('/')
    : where.startsWith('node:')
      ? 'node:*'
      : where === ''
        ? f.functionName
        : where.split('/').slice(0, 2).join('/');
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const top = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(n))
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(
  `total ${(total / 1e6).toFixed(2)} s sampled\n--- by package ---\n${top(pkg)}\n--- by function ---\n${top(fn)}`,
);
