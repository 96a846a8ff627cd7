import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';

// Issue 18: foreman gives PORT (5000, then +100 per process type) in the Procfile's order, so with `release`
// first the web role listened on 5100. web comes first; `release` stays for Heroku's release phase.
const entries = readFileSync('Procfile', 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => {
    const [, type, command] = /^([a-z]+):\s*(.+)$/.exec(l) ?? [];
    return { type, command };
  });

test('web is the first process type (the one a Procfile runner gives its base PORT)', (t) => {
  t.is(entries[0]?.type, 'web');
});

test('the Procfile keeps web, smtp, worker and release, each starting its own entrypoint like the npm script of its name', (t) => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  t.deepEqual(entries.map((e) => e.type).sort(), ['release', 'smtp', 'web', 'worker']);
  for (const { type, command } of entries) {
    t.is(command, `node --import tsx src/bin/${type}.ts`);
    t.true(existsSync(`src/bin/${type}.ts`), type);
    t.is(scripts[type!], command, `npm run ${type}`);
  }
});
