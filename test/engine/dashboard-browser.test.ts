// One real browser visit: Debian's chromium (headless, via playwright-core) logs in with Basic
// credentials, Bull Board renders a card per test job kind, and a screenshot is written.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DashboardFixture,
  nightlyTidy,
  PASSWORD,
  parentNotice,
  startTestDashboard,
  USER,
} from './dashboard-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('dashboard in a headless browser', () => {
  let fixture: DashboardFixture;
  let browser: Browser;
  let shots: string;

  beforeAll(async () => {
    shots = await mkdtemp(path.join(tmpdir(), 'dashboard-shot-'));
    fixture = await startTestDashboard();
    await fixture.queue(parentNotice.name).add(parentNotice.name, {
      tenantId: 't-1',
      parent: { email: 'jane.doe@school.example', displayName: 'Jane Doe' },
      students: [],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // This machine's closed network refuses Chromium's background connections.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it('logs in, lists one queue per job kind, and takes a screenshot', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
    try {
      const page = await context.newPage();
      // Requests leaving this server, with how they ended ('csp' = blocked by our policy).
      const thirdParty: string[] = [];
      page.on('requestfailed', (request) => {
        if (!request.url().startsWith(fixture.dashboard.url))
          thirdParty.push(`${request.failure()?.errorText}`);
      });
      page.on('requestfinished', (request) => {
        if (!request.url().startsWith(fixture.dashboard.url)) thirdParty.push('sent');
      });
      const response = await page.goto(`${fixture.dashboard.url}/admin/queues`, {
        waitUntil: 'domcontentloaded',
      });
      expect(response?.status()).toBe(200);
      // Rendered by Bull Board's React app from its API, so this proves the API calls authenticated too.
      await page.getByText(parentNotice.name).first().waitFor({ timeout: 20_000 });
      await page.getByText(nightlyTidy.name).first().waitFor({ timeout: 20_000 });
      expect(await page.title()).toContain('School jobs');
      // The overview (job counts per queue) loads after the sidebar; shoot once it is there.
      await page.getByText('Loading').first().waitFor({ state: 'hidden', timeout: 20_000 });

      // The CSP keeps the board from calling out (Bull Board links Google Fonts).
      expect(thirdParty.filter((outcome) => outcome !== 'csp')).toEqual([]);

      const file = path.join(shots, 'queues.png');
      await page.screenshot({ path: file, fullPage: true });
      const png = await readFile(file);
      // KEEP_SCREENSHOT=/some/file.png keeps a copy to look at.
      if (process.env.KEEP_SCREENSHOT) await writeFile(process.env.KEEP_SCREENSHOT, png);
      expect(png.length).toBeGreaterThan(1_000);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    } finally {
      await context.close();
    }
  });

  it('gets the Basic challenge, not the board, without credentials', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // Headless Chromium cannot show the login dialog, so it fails the navigation on the challenge.
      await expect(page.goto(`${fixture.dashboard.url}/admin/queues`)).rejects.toThrow(
        /ERR_INVALID_AUTH_CREDENTIALS/,
      );
    } finally {
      await context.close();
    }
  });
});
