// node --import tsx bench/extract-html.ts [srcDir ...]: µs per page for reading a 37 KB notification e-mail
// (table layout, inline styles, 116 anchors, entities, a code): htmlToText, anchorsOf and the whole
// extractFromMessage. srcDir defaults to this checkout's src/. Given several, they are timed in turn,
// round after round, and each figure is the best round (the least disturbed by other processes): process CPU
// time per page (user + system, which a busy machine disturbs less) and wall time per page.
// To compare with another commit:
//   git archive <commit> src | tar -x -C /tmp/mw-old && ln -s "$PWD/node_modules" /tmp/mw-old/node_modules
//   node --import tsx bench/extract-html.ts /tmp/mw-old/src src
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Reader = { htmlToText: (h: string) => string; anchorsOf: (h: string) => unknown[] };
type Extractor = {
  extractFromMessage: (m: { subject: string | null; text: string | null; html: string | null }, l: object) => unknown;
};

const row = (
  i: number,
) => `<tr><td style="padding:12px 24px;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:20px;color:#333333">
  <h3 style="margin:0 0 8px 0">Update n&deg;${i} &mdash; Caf&eacute; &amp; Co.</h3>
  <p style="margin:0 0 8px 0">Your order&nbsp;#${10_000 + i} has shipped &rarr; it&rsquo;s on its way. <span style="color:#999">&copy; 2026</span></p>
  <a href="https://shop.example/orders/${i}?utm_source=email&amp;utm_medium=notification&amp;utm_campaign=ship" style="color:#1a73e8;text-decoration:underline" title="Track &gt; details">Track order&nbsp;${i}</a>
  &middot; <a href="https://shop.example/help/${i}" style="color:#1a73e8">Help</a>
</td></tr>`;
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Your orders</title>
<style>body{margin:0;padding:0} table{border-collapse:collapse} .btn{background:#1a73e8;color:#fff}</style></head>
<body style="margin:0;padding:0;background:#f4f4f4"><!-- preheader --><table role="presentation" width="100%" cellpadding="0" cellspacing="0">
<tr><td><p>Your verification code is <b style="font-size:28px;letter-spacing:4px">482&nbsp;913</b>.</p></td></tr>
${Array.from({ length: 58 }, (_, i) => row(i)).join('\n')}
</table></body></html>`;
const limits = { maxCodes: 10, maxLinks: 200, maxUrlLength: 2048, maxInputChars: 524_288 };

const dirs = (process.argv.length > 2 ? process.argv.slice(2) : [new URL('../src', import.meta.url).pathname]).map(
  (d) => resolve(d),
);
const load = async <T>(dir: string, rel: string): Promise<T> =>
  (await import(pathToFileURL(`${dir}/${rel}`).href)) as T;
const subjects = await Promise.all(
  dirs.map(async (dir) => {
    const { htmlToText, anchorsOf } = await load<Reader>(dir, 'extract/html-text.ts');
    const { extractFromMessage } = await load<Extractor>(dir, 'extract/index.ts');
    const cases: Array<[string, () => unknown]> = [
      ['htmlToText', () => htmlToText(page)],
      ['anchorsOf', () => anchorsOf(page)],
      [
        'extractFromMessage (html only)',
        () => extractFromMessage({ subject: 'Your orders', text: null, html: page }, limits),
      ],
    ];
    for (const [, f] of cases) for (let i = 0; i < 300; i++) f();
    return {
      dir,
      anchors: anchorsOf(page).length,
      cases,
      best: cases.map(() => Infinity),
      bestCpu: cases.map(() => Infinity),
    };
  }),
);

const ROUNDS = 7;
const N = 300;
for (let r = 0; r < ROUNDS; r++) {
  for (const s of subjects) {
    s.cases.forEach(([, f], i) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let k = 0; k < N; k++) f();
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      s.best[i] = Math.min(s.best[i]!, (wall / N) * 1000);
      s.bestCpu[i] = Math.min(s.bestCpu[i]!, (cpu.user + cpu.system) / N);
    });
  }
}
console.log(`page: ${(page.length / 1024).toFixed(1)} KB; best of ${ROUNDS} rounds of ${N} pages`);
for (const s of subjects) {
  console.log(`${s.dir} (${s.anchors} anchors found)`);
  s.cases.forEach(([name], i) =>
    console.log(
      `  ${name.padEnd(32)} ${s.bestCpu[i]!.toFixed(0).padStart(6)} µs CPU  ${s.best[i]!.toFixed(0).padStart(6)} µs wall per page`,
    ),
  );
}
