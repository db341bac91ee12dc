// The UI's interactions on a big store, measured in headless Chromium: for the most common clicks,
// the time from the click to the rows (or the chart, or the trace) on screen, the time until every
// request the click started has answered (facets, charts), and how many API requests it made.
//
//   node bench/ui/ui_bench.mjs [--spans=1000000] [--runs=3] [--only=<part of a click's name>] [--json]
//
// TELETRACE_BIN and TELETRACE_UI_DIR run another build (a baseline); an interaction its UI lacks
// is reported as n/a.
// Starts the real binary (build/release/teletrace, or TELETRACE_BIN) on a fresh SQLite store with
// the built UI (web/dist), fills it with the load generator (build/release/bench/teletrace-loadgen:
// traces of 20 spans over 10 services spread over the last hour), then runs each interaction
// `runs` times on a fresh page and prints the medians as a Markdown table (for
// docs/benchmarks.md). Uses tests/e2e's browser and server helpers and their npm packages.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { launchBrowser, newPage } from '../../tests/e2e/lib/browser.mjs';
import { startTeletrace } from '../../tests/e2e/lib/server.mjs';
import { LOADGEN, args, median, run } from './cli.mjs';

const SPANS = Number(args.spans ?? 1_000_000);
const RUNS = Number(args.runs ?? 3);
const QUIET_MS = 300; // no API request in flight for this long: the click's work is done
const API = /\/(v1|api)\//;


/** Resolves once the search shows settled rows: not searching, not stale, at least one row. */
function rowsShown(page, table = 'results') {
  return page.waitForFunction(
    (t) => {
      const count = document.querySelector('[data-testid=results-count]');
      const summary = document.querySelector('[data-testid=results-summary]');
      const el = document.querySelector(t === 'traces' ? '[data-testid=traces-table]' : '[role=table]:not([data-testid=traces-table])');
      return (
        count && !count.textContent.startsWith('Searching') && summary && !summary.querySelector('.spinner') && el && !el.hasAttribute('data-stale') && Number(el.getAttribute('aria-rowcount')) > 0
      );
    },
    table,
    { timeout: 120_000, polling: 'raf' },
  );
}

const shown = (page, selector) => page.waitForSelector(selector, { timeout: 120_000 });

/** The interactions: where they start, the click, and what "answered" means for each. */
const INTERACTIONS = [
  { name: 'open the search page (last hour)', start: null, act: (p, url) => p.goto(url), done: (p) => rowsShown(p) },
  { name: 'time range 1h -> 6h', start: '/', act: (p) => p.click('[data-testid=time-range] button[title="Last 6 hours"]'), done: (p) => rowsShown(p) },
  {
    name: 'tick a service in the facet',
    start: '/',
    act: (p) => p.locator('[data-testid=facet][data-key="resource.attributes.service.name"] [data-testid=facet-value] input[type=checkbox]').first().click(),
    done: (p) => rowsShown(p),
  },
  {
    name: 'tick status Error',
    start: '/',
    act: (p) => p.click('[data-testid=facet][data-key="span.status.code"] [data-testid=facet-value][data-value="Error"] input[type=checkbox]'),
    done: (p) => rowsShown(p),
  },
  { name: 'sort by duration', start: '/', act: (p) => p.click('[data-testid=sort-duration]'), done: (p) => rowsShown(p) },
  { name: 'traces mode', start: '/', act: (p) => p.click('[data-testid=mode-traces]'), done: (p) => rowsShown(p, 'traces') },
  { name: 'latency chart', start: '/', act: (p) => p.click('[data-testid=chart-latency]'), done: (p) => shown(p, '[data-testid=latency-bucket]') },
  { name: 'duration heatmap', start: '/', act: (p) => p.click('[data-testid=chart-heatmap]'), done: (p) => shown(p, '[data-testid=heat-cell]') },
  {
    name: 'open a trace from the results',
    start: '/',
    act: (p) => p.locator('[data-testid=result-row]').first().click(),
    done: (p) => shown(p, '[data-testid=trace-header]'),
  },
  { name: 'services page', start: '/', act: (p) => p.click('[data-testid=nav-services]'), done: (p) => shown(p, '[data-testid=service-row]:not([data-p99=""])') },
];

/** Counts the page's API requests and tells when none has been in flight for QUIET_MS. */
function trackRequests(page) {
  const t = { started: 0, inFlight: 0, lastChange: performance.now() };
  const isApi = (r) => API.test(new URL(r.url()).pathname);
  page.on('request', (r) => {
    if (!isApi(r)) return;
    t.started++;
    t.inFlight++;
    t.lastChange = performance.now();
  });
  const end = (r) => {
    if (!isApi(r)) return;
    t.inFlight--;
    t.lastChange = performance.now();
  };
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  t.quiet = async () => {
    for (;;) {
      if (t.inFlight <= 0 && performance.now() - t.lastChange >= QUIET_MS) return t.lastChange;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return t;
}

async function measure(browser, url, interaction) {
  const page = await newPage(browser);
  page.setDefaultTimeout(15_000); // clicks; the waits for answers have their own 120 s
  const track = trackRequests(page);
  if (interaction.start !== null) {
    await page.goto(url + interaction.start);
    await rowsShown(page);
    await track.quiet();
  }
  const before = track.started;
  const t0 = performance.now();
  await interaction.act(page, url);
  await interaction.done(page);
  const shownMs = performance.now() - t0;
  const lastAnswer = await track.quiet();
  const result = { shownMs, settledMs: Math.max(shownMs, lastAnswer - t0), requests: track.started - before };
  await page.context().close();
  return result;
}

async function main() {
  if (!existsSync(LOADGEN)) throw new Error(`${LOADGEN} not found: cmake --build --preset release --target teletrace-loadgen`);
  const srv = await startTeletrace();
  const browser = await launchBrowser();
  try {
    const fill = spawnSync(
      LOADGEN,
      [`--endpoint=127.0.0.1:${srv.ports.otlpHttp}`, '--protocol=http-protobuf', `--total-spans=${SPANS}`, '--time-spread=3600', '--json'],
      { encoding: 'utf8', timeout: 600_000 },
    );
    if (fill.status !== 0) throw new Error(`loadgen failed: ${fill.stderr}`);
    const report = JSON.parse(fill.stdout.trim().split('\n').at(-1));
    const chosen = INTERACTIONS.filter((it) => !args.only || it.name.includes(args.only));
    process.stderr.write(`ui_bench: ${report.acknowledged_spans ?? SPANS} spans stored; ${chosen.length} interactions x ${RUNS} runs\n`);
    const rows = [];
    for (const it of chosen) {
      const runs = [];
      try {
        for (let i = 0; i < RUNS; i++) runs.push(await measure(browser, srv.url, it));
      } catch (err) {
        // An older UI without this control (a baseline run): reported as not available.
        process.stderr.write(`ui_bench: ${it.name}: ${String(err).split('\n')[0]}\n`);
        rows.push({ interaction: it.name, shownMs: NaN, settledMs: NaN, requests: NaN });
        continue;
      }
      const row = {
        interaction: it.name,
        shownMs: Math.round(median(runs.map((r) => r.shownMs))),
        settledMs: Math.round(median(runs.map((r) => r.settledMs))),
        requests: median(runs.map((r) => r.requests)),
      };
      rows.push(row);
      process.stderr.write(`ui_bench: ${JSON.stringify(row)}\n`);
    }
    if (args.json) {
      console.log(JSON.stringify({ spans: SPANS, runs: RUNS, rows }));
    } else {
      console.log(`| Interaction (${(SPANS / 1e6).toLocaleString('en-US')}M spans, median of ${RUNS}) | Shown (ms) | All answered (ms) | API requests |`);
      console.log('|---|---:|---:|---:|');
      const cell = (v) => (Number.isNaN(v) ? 'n/a' : v);
      for (const r of rows) console.log(`| ${r.interaction} | ${cell(r.shownMs)} | ${cell(r.settledMs)} | ${cell(r.requests)} |`);
    }
  } finally {
    await browser.close();
    await srv.stop();
  }
}

run(main);
