import test from 'ava';
import { readFile } from 'node:fs/promises';
import { ENV } from '../../src/core/config.js';

test('the README documents every environment variable the config module reads', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const missing = Object.keys(ENV.shape).filter((name) => !readme.includes(`\`${name}\``));
  t.deepEqual(missing, []);
});

test('the README shows the two commands of the quick start and the test command', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  t.true(readme.includes('npm install && npm start'));
  t.true(readme.includes('npm test'));
});
