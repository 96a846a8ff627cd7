import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../src/core/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFile(join(root, path), 'utf8');

/** The variables a markdown page's tables name in their first column (`NAME`, or several in one cell). */
function tableVariables(markdown: string): string[] {
  const names: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || !line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.push(m[1]!);
  }
  return names;
}

/** Relative links of a markdown page (`[text](target)`, outside code): file and #fragment (either may be empty). */
function links(markdown: string): { file: string; fragment: string }[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .filter((m) => !/^[a-z]+:/.test(m[1]!))
    .map((m) => {
      const [file = '', fragment = ''] = m[1]!.split('#');
      return { file, fragment };
    });
}

const linkTargets = (markdown: string) =>
  links(markdown)
    .map((l) => l.file)
    .filter(Boolean);

/** The #fragments a page's headings get, as GitHub makes them (lower case, punctuation dropped, spaces to -). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
    seen.set(slug, n + 1);
  }
  return anchors;
}

async function markdownFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await markdownFiles(path)));
    else if (entry.name.endsWith('.md')) found.push(path);
  }
  return found;
}

test('docs/configuration.md documents every variable of the config schema in its tables', async (t) => {
  const documented = new Set(tableVariables(await read('docs/configuration.md')));
  const missing = Object.keys(ENV.shape).filter((name) => !documented.has(name));
  t.deepEqual(missing, []);
});

test('every variable named in the tables of docs/configuration.md exists in the config schema', async (t) => {
  const known = new Set(Object.keys(ENV.shape));
  const unknown = tableVariables(await read('docs/configuration.md')).filter((name) => !known.has(name));
  t.deepEqual(unknown, []);
});

test('each variable has one row in docs/configuration.md', async (t) => {
  const names = tableVariables(await read('docs/configuration.md'));
  t.deepEqual(
    names.filter((name, i) => names.indexOf(name) !== i),
    [],
  );
});

test('the table reader finds a variable in a first column and ignores other columns and code', (t) => {
  const page = '| variable | default |\n| --- | --- |\n| `PORT` | `3000` see `HOST` |\n```\n| `NOT_A_ROW` |\n```\n';
  t.deepEqual(tableVariables(page), ['PORT']);
});

test('the README is a front door: at most 350 lines', async (t) => {
  const lines = (await read('README.md')).split('\n').length;
  t.true(lines <= 350, `README.md has ${lines} lines`);
});

test('the README shows the two commands of the quick start and the test command', async (t) => {
  const readme = await read('README.md');
  t.true(readme.includes('npm install && npm start'));
  t.true(readme.includes('npm test'));
});

test('every page under docs/ is linked from the README or from docs/README.md', async (t) => {
  const linked = new Set<string>();
  for (const [page, dir] of [
    ['README.md', ''],
    ['docs/README.md', 'docs'],
  ] as const) {
    for (const target of linkTargets(await read(page))) linked.add(relative(root, join(root, dir, target)));
  }
  const pages = (await markdownFiles('docs')).filter((path) => path !== join('docs', 'README.md'));
  t.deepEqual(
    pages.filter((path) => !linked.has(path)),
    [],
  );
});

test('every relative link of the README and docs/ points to a file and a heading that exist', async (t) => {
  const broken: string[] = [];
  for (const page of ['README.md', 'CHANGELOG.md', ...(await markdownFiles('docs'))]) {
    const dir = join(root, page, '..');
    for (const { file, fragment } of links(await read(page))) {
      const target = file ? join(dir, file) : join(root, page);
      const text = await readFile(target, 'utf8').catch((err: NodeJS.ErrnoException) =>
        err.code === 'EISDIR' ? '' : undefined,
      );
      if (text === undefined) broken.push(`${page} → ${file}`);
      else if (fragment && target.endsWith('.md') && !headingAnchors(text).has(fragment))
        broken.push(`${page} → ${file}#${fragment}`);
    }
  }
  t.deepEqual(broken, []);
});

test('the heading anchors are made as GitHub makes them', (t) => {
  const page =
    '# Create a mailbox — `POST /api/v1/mailboxes`\n## Streams (11:20–12:40 UTC)\n## Streams (11:20–12:40 UTC)\n';
  t.deepEqual(
    [...headingAnchors(page)],
    ['create-a-mailbox--post-apiv1mailboxes', 'streams-11201240-utc', 'streams-11201240-utc-1'],
  );
});
