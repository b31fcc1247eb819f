import { mkdir } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID } from '../src/sandbox/index.js';
import { ROOT, startServerProcess, type ServerProcess } from './support/process.js';

/**
 * A person's first minute: open GraphiQL on a fresh sandbox server in a real browser (Debian's
 * Chromium, installed by .ci/run), run the default query, see a contact.
 */
const OUTPUT_DIR = `${ROOT}test-results/graphiql`;

describe('GraphiQL in headless Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let graphiql: string;

  beforeAll(async () => {
    server = startServerProcess({ PORT: '0' });
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
    await run.click();
    const result = page.locator('.graphiql-response');
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain(SAMPLE_CONTACT_ID);
    // Monaco renders lines separately; compare on whitespace-collapsed text.
    const text = (await result.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('"firstName": "Ada"');
    expect(text).toContain('"status": "IN_PROGRESS"');
    expect(text).not.toContain('"errors"');
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: `${OUTPUT_DIR}/graphiql-default-query.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
