// Scrolling a big trace's waterfall, measured in headless Chromium: frames per second, the 95th
// percentile frame time and the frames longer than 50 ms while the waterfall scrolls at a steady
// speed, plus the renderer main thread's busy time per frame and its script, style and layout
// shares (Chrome's Performance.getMetrics counters).
//
//   node bench/ui/scroll_bench.mjs [--spans=20000] [--runs=5] [--seconds=5] [--speed=3000]
//                                  [--cpu-throttle=1] [--json]
//
// Starts the real binary (build/release/teletrace, or TELETRACE_BIN) on a fresh SQLite store with
// the built UI (web/dist, or TELETRACE_UI_DIR), sends one trace of `spans` spans with the load
// generator (build/release/bench/teletrace-loadgen, or TELETRACE_LOADGEN: --huge-trace), waits
// until the API returns all of it, then `runs` times on a fresh page: opens /trace/<id>, waits
// for the waterfall, and scrolls it for `seconds` in each of four ways:
//
// - idle: no scrolling, the same page; the frame rate this browser and machine give at best.
// - scrollTop: each animation frame sets the waterfall's scrollTop to speed (px/s) x the time
//   since the start, so a slow frame scrolls further rather than stretching the run.
// - drag: the same, but from the first row to the last in `seconds` (the scrollbar's thumb dragged
//   down the whole trace): every frame shows rows that were not there in the one before.
// - wheel: mouse wheel notches of 100 px over the waterfall, one after the other as fast as the
//   browser takes them (what a user's wheel or trackpad does).
//
// Frame times are the gaps between requestAnimationFrame callbacks: headless Chromium presents
// nothing to a screen (its trace shows no drawn frames), so the renderer's main-thread frames are
// what can be measured, and a frame whose script, style and layout overrun 16.7 ms shows as a
// longer gap. --cpu-throttle=N slows the
// page's CPU N times (Chrome's Emulation.setCPUThrottlingRate), for a slower machine than this
// one. Prints the medians over the runs as a Markdown table (for docs/benchmarks.md). Uses
// tests/e2e's browser and server helpers and their npm packages.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, newPage } from '../../tests/e2e/lib/browser.mjs';
import { startTeletrace } from '../../tests/e2e/lib/server.mjs';
import { LOADGEN, args, median, run } from './cli.mjs';

const SPANS = Number(args.spans ?? 20_000);
const RUNS = Number(args.runs ?? 5);
const SECONDS = Number(args.seconds ?? 5);
const SPEED = Number(args.speed ?? 3000); // px/s: about 115 rows a second
const WHEEL_PX = 100;
const LONG_FRAME_MS = 50;
const CPU_THROTTLE = Number(args['cpu-throttle'] ?? 1);
const MODES = ['idle', 'scrollTop', 'drag', 'wheel'];

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

/** Spans the API returns for the trace, every page of it. */
async function storedSpans(url, traceId) {
  let count = 0;
  let token;
  for (;;) {
    const q = new URLSearchParams({ pageSize: '20000', ...(token ? { nextToken: token } : {}) });
    const res = await fetch(`${url}/v1/trace/${traceId}?${q}`);
    if (res.status === 404) return 0;
    if (!res.ok) throw new Error(`GET /v1/trace/${traceId}: HTTP ${res.status}`);
    const body = JSON.parse(await res.text());
    count += body.spans.length;
    token = body.metadata?.nextToken;
    if (!token || body.spans.length === 0) return count;
  }
}

/**
 * In the page: records requestAnimationFrame gaps for `seconds` while `mode` scrolls the
 * waterfall (scrollTop moves it itself; wheel and idle leave it to the caller), and the long
 * tasks (> 50 ms) the browser reports meanwhile.
 */
function recordFrames({ seconds, speed, mode }) {
  const el = document.querySelector('[data-testid=waterfall]');
  const max = el.scrollHeight - el.clientHeight;
  const longTasks = [];
  const po = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  });
  po.observe({ type: 'longtask' });
  const frames = [];
  return new Promise((resolve) => {
    let t0 = null;
    let last = null;
    const tick = (now) => {
      if (t0 === null) t0 = now;
      else frames.push(now - last);
      last = now;
      const elapsed = now - t0;
      if (elapsed >= seconds * 1000) {
        po.disconnect();
        resolve({ frames, elapsedMs: elapsed, longTasks, scrollTop: el.scrollTop });
        return;
      }
      if (mode === 'scrollTop') el.scrollTop = Math.min(max, (speed * elapsed) / 1000);
      else if (mode === 'drag') el.scrollTop = Math.min(max, (max * elapsed) / (seconds * 1000));
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

const METRICS = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'];

async function cdpMetrics(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(metrics.filter((m) => METRICS.includes(m.name)).map((m) => [m.name, m.value * 1000]));
}

async function measure(page, cdp, mode) {
  await page.evaluate(() => {
    document.querySelector('[data-testid=waterfall]').scrollTop = 0;
    return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
  await sleep(300);
  const before = await cdpMetrics(cdp);
  const recording = page.evaluate(recordFrames, { seconds: SECONDS, speed: SPEED, mode });
  if (mode === 'wheel') {
    const box = await page.locator('[data-testid=waterfall]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) await page.mouse.wheel(0, WHEEL_PX);
  }
  const r = await recording;
  const after = await cdpMetrics(cdp);
  // A row, not a blank, under the middle of the waterfall once scrolling stops: it kept up.
  const rendered = await page.evaluate(() => {
    const el = document.querySelector('[data-testid=waterfall]');
    const top = el.getBoundingClientRect().top;
    const hit = document.elementFromPoint(el.getBoundingClientRect().left + 20, top + el.clientHeight / 2);
    return Boolean(hit?.closest('[data-testid=waterfall-row]'));
  });
  const perFrame = (name) => (after[name] - before[name]) / Math.max(r.frames.length, 1);
  return {
    fps: (r.frames.length * 1000) / r.elapsedMs,
    p95Ms: percentile(r.frames, 95),
    longFrames: r.frames.filter((f) => f > LONG_FRAME_MS).length,
    longTasks: r.longTasks.length,
    scrolledPx: r.scrollTop,
    scriptMs: perFrame('ScriptDuration'),
    styleMs: perFrame('RecalcStyleDuration'),
    layoutMs: perFrame('LayoutDuration'),
    taskMs: perFrame('TaskDuration'),
    rendered,
  };
}

async function main() {
  if (!existsSync(LOADGEN)) throw new Error(`${LOADGEN} not found: cmake --build --preset release --target teletrace-loadgen`);
  const srv = await startTeletrace();
  const browser = await launchBrowser();
  try {
    const send = spawnSync(LOADGEN, [`--endpoint=127.0.0.1:${srv.ports.grpc}`, `--huge-trace=${SPANS}`, '--batch=1000', '--json'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (send.status !== 0) throw new Error(`loadgen failed: ${send.stderr}`);
    const traceId = JSON.parse(send.stdout.trim().split('\n').at(-1)).huge_trace_id;
    if (!traceId) throw new Error(`loadgen printed no huge_trace_id: ${send.stdout}`);
    const deadline = Date.now() + 120_000;
    while ((await storedSpans(srv.url, traceId)) !== SPANS) {
      if (Date.now() > deadline) throw new Error(`trace ${traceId}: not all ${SPANS} spans stored after 120 s`);
      await sleep(500);
    }
    process.stderr.write(`scroll_bench: trace ${traceId} with ${SPANS} spans stored; ${MODES.length} modes x ${RUNS} runs of ${SECONDS} s\n`);

    const runs = Object.fromEntries(MODES.map((m) => [m, []]));
    for (let i = 0; i < RUNS; i++) {
      const page = await newPage(browser);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      await page.goto(`${srv.url}/trace/${traceId}`);
      await page.waitForFunction((n) => document.querySelector('[data-testid=waterfall]')?.getAttribute('data-row-count') === String(n), SPANS, {
        timeout: 120_000,
      });
      if (CPU_THROTTLE !== 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_THROTTLE });
      for (const mode of MODES) {
        const r = await measure(page, cdp, mode);
        runs[mode].push(r);
        process.stderr.write(`scroll_bench: run ${i + 1} ${mode}: ${JSON.stringify(r, (k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}\n`);
      }
      if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`);
      await page.context().close();
    }

    const rows = MODES.map((mode) => {
      const rs = runs[mode];
      const m = (k) => median(rs.map((r) => r[k]));
      return {
        mode,
        fps: m('fps'),
        p95Ms: m('p95Ms'),
        longFrames: m('longFrames'),
        longTasks: m('longTasks'),
        scrolledPx: m('scrolledPx'),
        scriptMs: m('scriptMs'),
        styleMs: m('styleMs'),
        layoutMs: m('layoutMs'),
        taskMs: m('taskMs'),
        rendered: rs.every((r) => r.rendered),
        fpsRuns: rs.map((r) => Math.round(r.fps * 10) / 10),
      };
    });
    if (args.json) {
      console.log(JSON.stringify({ spans: SPANS, runs: RUNS, seconds: SECONDS, speed: SPEED, cpuThrottle: CPU_THROTTLE, rows }));
    } else {
      const f1 = (v) => v.toFixed(1);
      console.log(
        `| ${SPANS.toLocaleString('en-US')}-span trace, ${SECONDS} s${CPU_THROTTLE !== 1 ? `, CPU ${CPU_THROTTLE}x slower` : ''} (median of ${RUNS}) | frames/s | p95 frame (ms) | frames > ${LONG_FRAME_MS} ms | long tasks | main thread per frame (ms) | of it script / style / layout | scrolled (px) | frames/s of each run |`,
      );
      console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
      const label = { idle: 'idle (no scrolling)', scrollTop: `scrollTop at ${SPEED} px/s`, drag: 'scrollTop, first to last row', wheel: `mouse wheel, ${WHEEL_PX} px notches` };
      for (const r of rows) {
        console.log(
          `| ${label[r.mode]}${r.rendered ? '' : ' (rows missing at the end)'} | ${f1(r.fps)} | ${f1(r.p95Ms)} | ${r.longFrames} | ${r.longTasks} | ${f1(r.taskMs)} | ${f1(r.scriptMs)} / ${f1(r.styleMs)} / ${f1(r.layoutMs)} | ${Math.round(r.scrolledPx)} | ${r.fpsRuns.join(', ')} |`,
        );
      }
    }
  } finally {
    await browser.close();
    await srv.stop();
  }
}

run(main);
