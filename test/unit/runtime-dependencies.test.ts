import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

// Deployments install with `npm ci --omit=dev`: every package the running code loads must be a runtime
// dependency. The running code is src/ and migrations/ (release applies them); type-only imports are erased.
const ROOT = process.cwd();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const BUILTIN = new Set(builtinModules);

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));

/** The package a bare specifier loads (`@scope/name/sub` -> `@scope/name`), or undefined for relative and built-in ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return BUILTIN.has(name) ? undefined : name;
}

/** Every module specifier the file loads at run time: imports, re-exports, import(), and pino transport targets. */
function runtimeSpecifiers(file: string): Array<{ specifier: string; line: number }> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Array<{ specifier: string; line: number }> = [];
  const add = (node: ts.Node, text: string) =>
    found.push({ specifier: text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier))
      add(node, node.moduleSpecifier.text);
    if (
      ts.isExportDeclaration(node) &&
      !node.isTypeOnly &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      add(node, node.moduleSpecifier.text);
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    )
      add(node, node.arguments[0].text);
    // pino loads `transport: { target: 'pkg' }` by name at run time
    if (
      ts.isPropertyAssignment(node) &&
      node.name.getText(source) === 'target' &&
      ts.isStringLiteralLike(node.initializer)
    )
      add(node, node.initializer.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const loaded = ['src', 'migrations']
  .flatMap((dir) => files(join(ROOT, dir)))
  .flatMap((file) =>
    runtimeSpecifiers(file).flatMap(({ specifier, line }) => {
      const name = packageOf(specifier);
      return name ? [{ name, where: `${relative(ROOT, file)}:${line}` }] : [];
    }),
  );

test('the scan sees the packages the code loads (imports, subpaths, dynamic imports, transport targets)', (t) => {
  const names = new Set(loaded.map((l) => l.name));
  for (const name of ['koa', 'bullmq', '@bull-board/api', 'tsx', 'knex', 'pino-pretty']) t.true(names.has(name), name);
  t.is(packageOf('@bull-board/api/bullMQAdapter'), '@bull-board/api');
  t.is(packageOf('tsx/esm/api'), 'tsx');
  t.is(packageOf('node:fs'), undefined);
  t.is(packageOf('fs'), undefined);
  t.is(packageOf('../core/config.js'), undefined);
});

test('every package loaded by src/ and migrations/ is a runtime dependency (npm ci --omit=dev keeps it)', (t) => {
  const missing = loaded
    .filter((l) => !(l.name in pkg.dependencies))
    .map(
      (l) => `${l.name} (${l.where}${l.name in pkg.devDependencies ? ', a devDependency' : ', not in package.json'})`,
    );
  t.deepEqual(missing, []);
});
