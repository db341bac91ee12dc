// The web UI's side of the Hardening issue (issue 9), end to end: span data shaped like the UI's
// old private long-integer marker (point 7) and signing in with the API token (point 9).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, screenshot } from './lib/browser.mjs';
import { Sender, msToNs, productsTrace } from './lib/seed.mjs';
import { TELETRACE_BIN, startTeletrace, teletraceHelp } from './lib/server.mjs';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const q = (v) => encodeURIComponent(JSON.stringify(v));

/** The string the UI once used to mark long integers; any span attribute may hold it. */
const MARK = '\u0000int:';

/**
 * Waits until the search has settled with exactly `n` rows (the table's aria-rowcount), failing
 * at once with the message if the page shows an API error instead.
 */
async function waitRows(page, n, { failOnApiError = true } = {}) {
  await page.waitForFunction(
    ([want, failFast]) => {
      if (failFast && document.querySelector('[data-testid=api-error]')) return true;
      const summary = document.querySelector('[data-testid=results-summary]');
      if (!summary || summary.textContent.startsWith('Searching') || summary.querySelector('.spinner')) return false;
      return document.querySelector('[role=table]')?.getAttribute('aria-rowcount') === String(want);
    },
    [n, failOnApiError],
    { timeout: 15_000 },
  );
  await assertNoApiError(page);
}

/** Waits for `selector` or an API error, and fails with the error's message on the latter. */
async function waitShown(page, selector) {
  await page.waitForSelector(`${selector}, [data-testid=api-error]`);
  await assertNoApiError(page);
}

async function assertNoApiError(page) {
  const errors = await page.locator('[data-testid=api-error]').allTextContents();
  assert.deepEqual(errors, [], `API errors shown: ${errors.join('\n')}`);
}

function assertNoPageErrors(page) {
  assert.deepEqual(page.errors, [], `uncaught errors in the page: ${page.errors.join('\n')}`);
}

describe('span data that looks like the UI\'s old long-integer marker (issue 9, point 7)', { timeout: 120_000 }, () => {
  let srv;
  let browser;
  let sender;
  let root;
  let child;

  before(async () => {
    srv = await startTeletrace();
    browser = await launchBrowser();
    sender = new Sender(srv.otlpHttpUrl);
    const base = nowNs() - msToNs(5 * 60_000);
    root = sender.span('marker-svc', 'GET /evil', {
      kind: 'Server',
      start: base,
      end: base + msToNs(20),
      // The marker alone, with digits (read back as numbers by the old UI), and with text (made
      // the old UI fail the whole page with "the server answered with invalid JSON").
      attributes: { 'evil.marker': MARK, 'evil.digits': `${MARK}12345678901234567890`, 'evil.text': `${MARK}not a number`, plain: 'ok' },
    });
    child = sender.span('marker-svc', `${MARK}child`, {
      parent: root,
      start: base + msToNs(2),
      end: base + msToNs(10),
      attributes: { 'evil.marker': MARK },
    });
    productsTrace(sender, base + msToNs(1000), 15); // other data around it
    await sender.flush();
  });

  after(async () => {
    await sender?.shutdown();
    await browser?.close();
    await srv?.stop();
  });

  test('the server really sends the marker text to the UI', async () => {
    const res = await fetch(`${srv.url}/v1/trace/${root.traceId}`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.ok(body.includes('"evil.marker":"\\u0000int:"'), body.slice(0, 2000));
    assert.ok(body.includes('"evil.digits":"\\u0000int:12345678901234567890"'));
  });

  test('the search lists the spans with the value in a column, a filter on it and its facet', async () => {
    const page = await newPage(browser);
    const svc = q(['resource.attributes.service.name', ['marker-svc']]);
    await page.goto(`${srv.url}/?sel=${svc}&col=span.attributes.evil.marker&col=span.attributes.evil.digits&col=span.attributes.evil.text&facet=span.attributes.evil.marker`);
    await waitRows(page, 2);
    await assertNoApiError(page);
    const byName = await page.$$eval('[data-testid=result-row]', (rows) =>
      Object.fromEntries(
        rows.map((r) => [
          r.querySelector('[data-testid=cell-name]').textContent,
          [...r.querySelectorAll('[data-testid=cell-extra]')].map((c) => c.textContent),
        ]),
      ),
    );
    assert.deepEqual(byName, {
      'GET /evil': [MARK, `${MARK}12345678901234567890`, `${MARK}not a number`],
      [`${MARK}child`]: [MARK, '', ''],
    });
    // The facet of that attribute (tag values come through the other JSON path) counts both.
    await page.waitForFunction(
      (mark) => [...document.querySelectorAll('[data-testid=facet-value]')].some((v) => v.getAttribute('data-value') === mark),
      MARK,
    );
    const facet = await page.$$eval(
      '[data-testid=facet][data-key="span.attributes.evil.marker"] [data-testid=facet-value]',
      (vs) => vs.map((v) => [v.getAttribute('data-value'), v.querySelector('.facet-count')?.textContent.trim()]),
    );
    assert.deepEqual(facet, [[MARK, '2']]);
    await screenshot(page, '10-marker-search');

    // A built filter whose value is the marker text goes to the server as that string.
    await page.goto(`${srv.url}/?filter=${q(['span.attributes.evil.digits', 'equals', `${MARK}12345678901234567890`])}`);
    await waitRows(page, 1);
    assert.deepEqual(await page.locator('[data-testid=result-row] [data-testid=cell-name]').allTextContents(), ['GET /evil']);
    await page.goto(`${srv.url}/?filter=${q(['span.attributes.evil.marker', 'equals', MARK])}`);
    await waitRows(page, 2);
    await assertNoApiError(page);
    assertNoPageErrors(page);
    await page.close();
  });

  test('the trace page shows the spans, their attributes and the raw JSON', async () => {
    const page = await newPage(browser);
    await page.goto(`${srv.url}/trace/${root.traceId}?spanId=${root.spanId}`);
    await waitShown(page, '[data-testid=waterfall]');
    assert.equal(await page.textContent('[data-testid=trace-span-count]'), '2');
    const childRow = page.locator(`[data-testid=waterfall-row][data-span-id="${child.spanId}"]`);
    assert.ok((await childRow.textContent()).includes(`${MARK}child`));
    await page.waitForFunction((id) => document.querySelector('[data-testid=span-details]')?.getAttribute('data-span-id') === id, root.spanId);
    const attrs = await page.$$eval('[data-testid=span-attributes] tr', (rows) =>
      rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent]),
    );
    assert.deepEqual(attrs, [
      ['evil.digits', `${MARK}12345678901234567890`],
      ['evil.marker', MARK],
      ['evil.text', `${MARK}not a number`],
      ['plain', 'ok'],
    ]);
    await page.click('[data-testid=tab-json]');
    const raw = await page.textContent('[data-testid=raw-json]');
    assert.ok(raw.includes('"evil.marker": "\\u0000int:"'), raw);
    assert.ok(raw.includes('"evil.digits": "\\u0000int:12345678901234567890"'));
    assert.ok(raw.includes('"evil.text": "\\u0000int:not a number"'));
    assert.ok(raw.includes(`"startTimeUnixNano": ${root.startNs}`));
    await screenshot(page, '11-marker-trace');
    assertNoPageErrors(page);
    await page.close();
  });
});

// The server side of point 9 (`--auth.api_token`) may not be in this binary yet: then the test is
// skipped and says why. A missing binary is not a reason to skip (startTeletrace says what to do).
const AUTH_SKIP =
  existsSync(TELETRACE_BIN) && !teletraceHelp().includes('auth.api_token')
    ? `${TELETRACE_BIN} has no auth.api_token setting yet (not in \`teletrace --help\`): the server side of API authentication is not built in`
    : false;

describe('signing in with the API token (issue 9, point 9)', { skip: AUTH_SKIP, timeout: 120_000 }, () => {
  const TOKEN = `e2e-${randomBytes(12).toString('hex')}`;
  let srv;
  let browser;
  let sender;
  let trace;

  before(async () => {
    srv = await startTeletrace({ extraArgs: [`--auth.api_token=${TOKEN}`] });
    browser = await launchBrowser();
    sender = new Sender(srv.otlpHttpUrl);
    trace = productsTrace(sender, nowNs() - msToNs(5 * 60_000), 15);
    await sender.flush();
  });

  after(async () => {
    await sender?.shutdown();
    await browser?.close();
    await srv?.stop();
  });

  test('the API wants the token; the UI itself loads without one', async () => {
    const denied = await fetch(`${srv.url}/v1/tags`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="teletrace"');
    assert.deepEqual(await denied.json(), { errorMessage: 'missing or invalid bearer token' });
    const allowed = await fetch(`${srv.url}/v1/tags`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.status, 200);
    await allowed.arrayBuffer();
    const index = await fetch(`${srv.url}/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /<div id="root">/);
  });

  test('the dialog asks for the token, refuses a wrong one, and the right one shows the data', async () => {
    const page = await newPage(browser);
    await page.goto(srv.url);
    const dialog = page.locator('[data-testid=signin-dialog]');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /auth\.api_token/);
    assert.equal(await page.getAttribute('[data-testid=signin-token]', 'type'), 'password');
    await screenshot(page, '12-sign-in');

    await page.fill('[data-testid=signin-token]', 'not-the-token');
    await page.click('[data-testid=signin-submit]');
    await page.waitForSelector('[data-testid=signin-rejected]');
    await screenshot(page, '13-sign-in-rejected');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('teletrace.apiToken')), null);

    await page.fill('[data-testid=signin-token]', TOKEN);
    await page.click('[data-testid=signin-submit]');
    await dialog.waitFor({ state: 'detached' });
    // (the 401 message shown behind the dialog goes once the refetch answers)
    await waitRows(page, 3, { failOnApiError: false });
    await assertNoApiError(page);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('teletrace.apiToken')), TOKEN);

    // A reload in the same tab keeps the session; the trace page works too.
    await page.goto(`${srv.url}/trace/${trace.root.traceId}`);
    await waitShown(page, '[data-testid=waterfall]');
    assert.equal(await dialog.count(), 0);
    assert.equal(await page.textContent('[data-testid=trace-span-count]'), '3');

    // Signing out forgets the token and asks again.
    await page.click('[data-testid=signout]');
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('teletrace.apiToken')), null);
    assert.equal(await page.locator('[data-testid=signin-rejected]').count(), 0);
    assertNoPageErrors(page);
    await page.close();
  });

  test('a deep link to a trace asks for the token first, then shows the trace', async () => {
    const page = await newPage(browser); // a new context: a new session, no token
    await page.goto(`${srv.url}/trace/${trace.root.traceId}?spanId=${trace.list.spanId}`);
    await page.waitForSelector('[data-testid=signin-dialog]');
    await page.fill('[data-testid=signin-token]', `  ${TOKEN}\n`); // pasted with blanks
    await page.press('[data-testid=signin-token]', 'Enter');
    await page.waitForFunction((id) => document.querySelector('[data-testid=span-details]')?.getAttribute('data-span-id') === id, trace.list.spanId);
    assert.equal(await page.textContent('[data-testid=span-details-name]'), 'ListProducts');
    assert.equal(await page.locator('[data-testid=signin-dialog]').count(), 0);
    await assertNoApiError(page);
    assertNoPageErrors(page);
    await page.close();
  });
});
