// Soak: full-speed ingest, queries, the Hardening issue's attacks and kill -9 restarts, all at once
// against the real binary on loopback, for a bounded time. Passes when every acknowledged span is
// readable afterwards (exact span count per acknowledged trace) and the server's peak RSS stayed
// under the bound derived from its configured budgets.
//
//   node tests/soak/soak.mjs [--seconds=600] [--restarts=5]
//
// Prints one summary line per phase and a final "N passed, N failed" line; exits non-zero on a
// failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';

import { Api } from '../integration/lib/api.mjs';
import { encodeExportRequest, postTraces, simpleTrace } from '../integration/lib/otlp.mjs';
import { startServer } from '../integration/lib/server.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v];
  }),
);
const SECONDS = Number(args.seconds ?? 600);
const RESTARTS = Number(args.restarts ?? 5);
const INGEST_WORKERS = 4;
const SPANS_PER_REQUEST = 500;
const MIB = 1 << 20;
const INFLIGHT_BYTES = 64 * MIB;
const QUEUE_BYTES = 64 * MIB;
// Budgets bound what requests hold; the rest is the process itself (SQLite page cache, code,
// allocator slack, query results). Measured baseline under this load stays well below 200 MiB.
const RSS_BOUND_BYTES = INFLIGHT_BYTES + QUEUE_BYTES + 256 * MIB;

const deadline = Date.now() + SECONDS * 1000;
const live = () => Date.now() < deadline;

const acknowledged = new Map(); // trace id -> span count, only after a 200
const counters = { ingestOk: 0, ingestRefused: 0, ingestLost: 0, queries: 0, queryErrors: 0, attacks: 0, restarts: 0 };
let peakRss = 0;
let failures = 0;
let passes = 0;

function check(name, fn) {
  try {
    fn();
    passes += 1;
    console.log(`ok: ${name}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL: ${name}: ${err.message}`);
  }
}

// The memory the server holds: anonymous and shared memory. Not the pages of the database file
// that SQLite's readers map, which VmRSS also counts: they are the kernel's page cache, dropped
// under pressure and bounded by the file, not by what clients send.
function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return (kb('RssAnon') + kb('RssShmem')) * 1024;
  } catch {
    return 0;
  }
}

function rawSend(port, bytes, { holdMs = 0 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = () => {
      sock.destroy();
      resolve(data);
    };
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', done);
    sock.on('close', done);
    sock.on('connect', () => {
      sock.write(bytes);
      setTimeout(done, holdMs || 2000);
    });
  });
}

const srv = await startServer({
  extraArgs: [
    `--ingest.max_inflight_bytes=${INFLIGHT_BYTES}`,
    `--ingest.max_queue_bytes=${QUEUE_BYTES}`,
    '--server.max_connections=300',
    '--server.header_timeout=3s',
    '--storage.sqlite.retention_max_age=0',
  ],
});
let api = new Api(srv.apiUrl);
let restarting = false;

async function ingestWorker(id) {
  let n = 0;
  while (live()) {
    if (restarting) {
      await sleep(50);
      continue;
    }
    const t = simpleTrace({ count: SPANS_PER_REQUEST, service: `soak-${id}`, name: `w${id}-${n++}` });
    try {
      const res = await postTraces(srv.otlpTracesUrl, encodeExportRequest(t.resourceSpans), { timeoutMs: 30_000 });
      if (res.status === 200) {
        acknowledged.set(t.traceId, SPANS_PER_REQUEST);
        counters.ingestOk += 1;
      } else if (res.status === 429 || res.status === 503) {
        counters.ingestRefused += 1;
        await sleep(100);
      } else {
        throw new Error(`unexpected ingest status ${res.status}`);
      }
    } catch (err) {
      if (err.message.startsWith('unexpected')) throw err;
      counters.ingestLost += 1; // connection killed mid-request: not acknowledged, may or may not be stored
      await sleep(50);
    }
  }
}

async function queryWorker() {
  while (live()) {
    if (restarting) {
      await sleep(50);
      continue;
    }
    try {
      const now = BigInt(Date.now()) * 1_000_000n;
      const tf = { startTimeUnixNanoSec: now - 600_000_000_000n, endTimeUnixNanoSec: now };
      const results = await Promise.all([
        api.search({ timeframe: tf, filters: [{ keyValueFilter: { key: 'resource.attributes.service.name', operator: 'equals', value: 'soak-1' } }] }),
        api.histograms({ timeframe: tf, interval: 10_000_000_000, aggregations: { c: { func: 'COUNT' } } }),
        api.tagValues('span.name', { timeframe: tf }),
      ]);
      for (const r of results) if (r.status !== 200) counters.queryErrors += 1;
      counters.queries += results.length;
    } catch {
      counters.queryErrors += 1;
    }
    await sleep(200);
  }
}

// The attacks of the Hardening issue, in rotation; each must be refused without harm.
async function attackWorker() {
  const attacks = [
    () => api.get('/v1/tags?startTimeUnixNanoSec=99999999999999999999'),
    () => api.get('/v1/tags?endTimeUnixNanoSec=18446744073709551616'),
    () => rawSend(srv.ports.http, 'POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: xchunked\r\n\r\nGET /v1/x HTTP/1.1\r\n\r\n'),
    () => rawSend(srv.ports.http, 'GET /v1/ping HTTP/1.1\r\nHost: rebind.example\r\n\r\n'),
    () => postTraces(srv.otlpTracesUrl, gzipSync(Buffer.alloc(64 * MIB)), { headers: { 'content-encoding': 'gzip' } }),
    () => Promise.all(Array.from({ length: 50 }, () => rawSend(srv.ports.http, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', { holdMs: 4000 }))),
    () => Promise.all(Array.from({ length: 20 }, () => rawSend(srv.ports.otlpHttp,
      'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: 16000000\r\n\r\nxx', { holdMs: 3000 }))),
    async () => {
      // One span with 20,000 distinct attributes: linear per-span paths keep this cheap.
      const t = simpleTrace({ count: 1, service: 'soak-wide' });
      const attributes = {};
      for (let i = 0; i < 20_000; i++) attributes[`k${i}`] = i;
      t.resourceSpans[0].scopes[0].spans[0].attributes = attributes;
      const res = await postTraces(srv.otlpTracesUrl, encodeExportRequest(t.resourceSpans), { timeoutMs: 30_000 });
      if (res.status === 200) acknowledged.set(t.traceId, 1);
    },
  ];
  let i = 0;
  while (live()) {
    if (restarting) {
      await sleep(50);
      continue;
    }
    try {
      await attacks[i++ % attacks.length]();
    } catch {
      // a kill -9 may cut an attack short; the final checks decide
    }
    counters.attacks += 1;
  }
}

async function rssSampler() {
  while (live()) {
    if (srv.running) peakRss = Math.max(peakRss, rssOf(srv.child.pid));
    await sleep(250);
  }
}

async function restarter() {
  const every = (SECONDS * 1000) / (RESTARTS + 1);
  for (let r = 0; r < RESTARTS && live(); r++) {
    await sleep(every);
    if (!live()) break;
    restarting = true;
    await srv.kill9();
    await srv.start();
    api = new Api(srv.apiUrl);
    counters.restarts += 1;
    restarting = false;
  }
}

const started = Date.now();
await Promise.all([
  ...Array.from({ length: INGEST_WORKERS }, (_, i) => ingestWorker(i)),
  queryWorker(),
  attackWorker(),
  rssSampler(),
  restarter(),
]);
console.log(`soak: ${((Date.now() - started) / 1000).toFixed(0)} s, ${JSON.stringify(counters)}, acknowledged traces ${acknowledged.size}, peak RSS ${(peakRss / MIB).toFixed(0)} MiB`);

// Every acknowledged span survives: restart once more (clean), then read each trace back.
await srv.restart();
api = new Api(srv.apiUrl);
let missing = 0;
let wrong = 0;
for (const [traceId, count] of acknowledged) {
  const res = await api.trace(traceId);
  if (res.status !== 200) {
    missing += 1;
    continue;
  }
  if (res.json.spans.length !== count) wrong += 1;
}
check(`all ${acknowledged.size} acknowledged traces readable`, () => assert.equal(missing, 0));
check('every acknowledged trace has exactly its spans', () => assert.equal(wrong, 0));
check(`${RESTARTS} kill -9 restarts done`, () => assert.equal(counters.restarts, RESTARTS));
check('ingest made progress', () => assert.ok(counters.ingestOk > 0));
check('queries answered', () => assert.ok(counters.queries > 0 && counters.queryErrors < counters.queries / 10, JSON.stringify(counters)));
check(`peak RSS ${(peakRss / MIB).toFixed(0)} MiB under ${RSS_BOUND_BYTES / MIB} MiB`, () => assert.ok(peakRss > 0 && peakRss < RSS_BOUND_BYTES));
const ping = await api.ping();
check('server still serving', () => assert.equal(ping.status, 200));
const { code } = await srv.stop();
check('clean exit after the soak', () => assert.equal(code, 0));

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
