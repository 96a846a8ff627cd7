// The dependency rule (`npm run depcheck`, part of `npm run lint` and `.ci/run`).
// It encodes the folder order of docs/ARCHITECTURE.md, lowest first:
//   1 core → 2 extract → 3 store | queue | pubsub → 4 access | ops → 5 mailboxes
//   → 6 ingress | pipeline | maintenance | connected | outbound | bounces | webhooks → 7 stream → 8 api → 9 roles | container.ts → 10 bin
// A folder may import only from folders on a LOWER line: never from a folder on the same line, never from a higher
// one (a folder may of course import its own files). No import cycle anywhere, file level, inside a folder too.
// To add a folder: put it on a line of ORDER below (a new line or beside folders it must not import), and update
// docs/ARCHITECTURE.md in the same commit. A file under src/ in a folder that is not in ORDER fails
// `folder-not-in-order`.
'use strict';

const ORDER = [
  ['core'],
  ['extract'],
  ['store', 'queue', 'pubsub'],
  ['access', 'ops'],
  ['mailboxes'],
  ['ingress', 'pipeline', 'maintenance', 'connected', 'outbound', 'bounces', 'webhooks'],
  ['stream'],
  ['api'],
  ['roles', 'container.ts'],
  ['bin'],
];

const ORDER_TEXT = ORDER.map((line) => line.join(' | ')).join(' → ');
const WHERE = `(order: ${ORDER_TEXT}; docs/ARCHITECTURE.md)`;

/** `^src/core/` for a folder, `^src/container\.ts$` for a file directly under src/. */
const pathOf = (name) => (name.endsWith('.ts') ? `^src/${name.replace(/\./g, '\\.')}$` : `^src/${name}/`);
const anyOf = (names) => names.map(pathOf).join('|');

// One rule per (folder, line that is not below it): "<from>-below-<to>" or "<from>-beside-<to>" for the same line.
const layerRules = [];
ORDER.forEach((line, level) => {
  for (const from of line) {
    const fromName = from.replace(/\.ts$/, '');
    ORDER.slice(level).forEach((other, offset) => {
      const targets = other.filter((to) => to !== from);
      if (targets.length === 0) return;
      for (const to of targets) {
        const toName = to.replace(/\.ts$/, '');
        const relation = offset === 0 ? 'beside' : 'below';
        const words =
          offset === 0
            ? `src/${from} may not import src/${to}: they are on the same line of the folder order`
            : `src/${from} may not import src/${to}: src/${to} is higher in the folder order`;
        layerRules.push({
          name: `${fromName}-${relation}-${toName}`,
          comment: `${words} ${WHERE}`,
          severity: 'error',
          from: { path: pathOf(from) },
          to: { path: pathOf(to) },
        });
      }
    });
  }
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'No import cycle anywhere, file level, including inside one folder (type-only imports count): ' +
        'split the shared part into a file both can import, lower in the order',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'folder-not-in-order',
      comment:
        `Every file under src/ lives in a folder of the folder order ${WHERE}; ` +
        'add a new folder to ORDER in .dependency-cruiser.cjs and to docs/ARCHITECTURE.md',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(ORDER.flat()) },
      to: {},
    },
    {
      name: 'src-not-to-tests-or-bench',
      comment: 'src/ may not import test/, bench/ or migrations/ (they stand on src, not the other way round)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|migrations)/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve to a file or an installed package is a typo or a missing dependency',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^node_modules/'] },
    // Type-only imports count: a type imported from a higher folder ties the two folders together just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // With the tsconfig (NodeNext), dependency-cruiser resolves `import { x } from './y.js'` to ./y.ts itself.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
