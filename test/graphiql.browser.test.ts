import { mkdir } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID } from '../src/sandbox/index.js';
import { ROOT, startServerProcess, type ServerProcess } from './support/process.js';

/**
 * A person's first minute: open GraphiQL on a fresh sandbox server in a real browser (Debian's
 * Chromium, installed by .ci/run), run the default query, see a contact; run the default
 * subscription and see a live event arrive, with no other step (the sandbox's autopilot calls a
 * demo contact, fast here).
 */
const OUTPUT_DIR = `${ROOT}test-results/graphiql`;

describe('GraphiQL in headless Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let graphiql: string;

  beforeAll(async () => {
    server = startServerProcess({ PORT: '0', SANDBOX_AUTOPILOT_MS: '400', SANDBOX_CALL_MS: '200' });
    graphiql = (await server.waitForLine((l) => typeof l['graphiql'] === 'string'))['graphiql'] as string;
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('runs the default query and shows a demo contact in the result pane', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(graphiql);
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor({ state: 'visible', timeout: 30_000 });
    // The editor holds the sandbox's default query before anything is typed.
    await expect
      .poll(() => page.locator('.graphiql-query-editor').innerText(), { timeout: 15_000 })
      .toContain(SAMPLE_CONTACT_ID);
    // The document holds several operations: the run button asks which.
    await run.click();
    await page.getByRole('menuitem', { name: 'DemoContact', exact: true }).click();
    const result = page.locator('.graphiql-response');
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain(SAMPLE_CONTACT_ID);
    // Monaco renders lines separately; compare on whitespace-collapsed text.
    const text = (await result.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('"firstName": "Ada"');
    expect(text).toContain('"status": "REACHED"');
    expect(text).not.toContain('"errors"');
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: `${OUTPUT_DIR}/graphiql-default-query.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('runs the default subscription and shows a live event from the sandbox dialer', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(graphiql);
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor({ state: 'visible', timeout: 30_000 });
    await run.click();
    await page.getByRole('menuitem', { name: 'LiveContacts', exact: true }).click();
    const result = page.locator('.graphiql-response');
    await expect.poll(() => result.innerText(), { timeout: 20_000 }).toContain('contactStatusChanged');
    const text = (await result.innerText()).replace(/\s+/g, ' ');
    expect(text).toMatch(/"webhookStatus": "(pending|reached)"/);
    expect(text).toMatch(/"status": "(IN_PROGRESS|REACHED|NOT_REACHED)"/);
    expect(text).not.toContain('"errors"');
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: `${OUTPUT_DIR}/graphiql-live-subscription.png`, fullPage: true });
    // Stop the subscription (the run button turned into a stop button).
    await run.click();
    expect(consoleErrors).toEqual([]);
  });
});
