// Headless Debian Chromium driven by playwright-core (REFERENCE §3: a test tool's own browser
// download does not work here), and screenshots into tests/e2e/artifacts/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '..', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/**
 * A fresh page (own context: no shared storage) at 1440x900 that fails the test on uncaught page
 * errors: `page.errors` collects them for an assertion at the end. The browser's time zone is UTC
 * unless `timezoneId` names another (an IANA name, e.g. 'Asia/Tokyo').
 */
export async function newPage(browser, { colorScheme = 'light', timezoneId = 'UTC' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme, timezoneId, locale: 'en-US' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  page.setDefaultTimeout(15_000);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
