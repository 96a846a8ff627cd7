import anyTest, { type TestFn } from 'ava';
import type { Browser } from 'playwright-core';
import { openApiDocument } from '../../src/api/openapi.js';
import { launchChromium } from '../helpers/chromium.js';
import { startSystem, type System } from '../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; browser: Browser }>;
test.before(async (t) => {
  t.context.sys = await startSystem({ roles: ['web'] });
  t.context.browser = await launchChromium();
});
test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.sys?.stop();
});

test('headless Chromium: /docs renders every operation of the document under its CSP, loading nothing from elsewhere', async (t) => {
  const { sys, browser } = t.context;
  const page = await browser.newPage();
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => requested.push(r.url()));
  // what the Content-Security-Policy blocked (these functions run in the page; this tsconfig has no DOM types)
  await page.addInitScript(() => {
    const g = globalThis as any;
    g.cspViolations = [];
    g.document.addEventListener('securitypolicyviolation', (e: any) =>
      g.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  await page.goto(`${sys.baseUrl}/docs`);
  // Swagger UI gives each operation the id operations-<tag>-<operationId>
  await page.waitForSelector('#operations-mailboxes-createMailbox', { timeout: 20_000 });
  const rendered = await page.$$eval('.opblock[id^="operations-"]', (els) => els.map((e) => e.id).sort());
  const doc = openApiDocument('/');
  const expected = Object.values(doc.paths)
    .flatMap((item) => Object.values(item as Record<string, { operationId?: string; tags?: string[] }>))
    .filter((op) => op?.operationId)
    .map((op) => `operations-${op.tags![0]}-${op.operationId}`)
    .sort();
  t.deepEqual(rendered, expected);
  // Swagger UI's red error/warning boxes (an unresolved $ref, an unsupported jsonSchemaDialect, ...) stay absent
  t.deepEqual(
    await page.$$eval('.errors-wrapper', (els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim())),
    [],
  );
  // open one operation and a model: its parameters, responses and schemas render too
  await page.click('#operations-messages-getMessage .opblock-summary');
  await page.waitForSelector('#operations-messages-getMessage .responses-table', { timeout: 10_000 });
  await page.click('#operations-messages-getMessage .tabitem:not(.active) button');
  await page.waitForSelector('#operations-messages-getMessage .model-box', { timeout: 10_000 });
  t.deepEqual(
    requested.filter((u) => !u.startsWith(sys.baseUrl) && !u.startsWith('data:')),
    [],
  );
  t.deepEqual(problems, []);
  t.deepEqual(await page.evaluate(() => (globalThis as any).cspViolations), []);
  await page.close();
});
