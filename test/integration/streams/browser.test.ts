import anyTest, { type TestFn } from 'ava';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.js';
import { startSystem, type System } from '../../helpers/system.js';

const test = anyTest as TestFn<{ sys: System; browser: Browser }>;
test.before(async (t) => {
  t.context.sys = await startSystem();
  t.context.browser = await launchChromium();
});
test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.sys?.stop();
});

test('headless Chromium: the viewer page served by the app opens an EventSource and sees the new message', async (t) => {
  const { sys, browser } = t.context;
  const box = await sys.createMailbox('?ttl_minutes=30');
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(
    `${sys.baseUrl}/streams/viewer#address=${encodeURIComponent(box.address)}&token=${encodeURIComponent(box.token)}`,
  );
  // these functions run in the page (the page's CSP forbids string eval; this tsconfig has no DOM types)
  await page.waitForFunction(
    () => (globalThis as any).document.getElementById('status').textContent.startsWith('live from cursor'),
    undefined,
    { timeout: 10_000 },
  );
  await sys.send({ to: box.address, subject: 'hello browser', text: 'x' });
  await page.waitForFunction(() => (globalThis as any).mailwrightEvents.length > 0, undefined, { timeout: 10_000 });
  const events = (await page.evaluate(() => (globalThis as any).mailwrightEvents)) as Array<{
    type: string;
    cursor: string;
    message: { subject: string };
  }>;
  t.is(events[0]!.type, 'new_message');
  t.is(events[0]!.cursor, '1');
  t.is(events[0]!.message.subject, 'hello browser');
  t.regex((await page.textContent('#messages')) ?? '', /hello browser/);
  t.deepEqual(errors, []);
  await page.close();
});
