// Differential test of the Jaeger query API: the same traces, sent by the official OpenTelemetry JS
// SDK over OTLP/gRPC, go to a real Jaeger v2 (built by build_jaeger.sh, in-memory store, loopback
// only) and to teletrace; every Jaeger API answer must be equal field by field.
//
// Ordering rules (the only normalisation): lists whose order Jaeger does not define are compared
// sorted (services, operations, dependencies, traces of a search, spans of a trace by span id);
// process ids ("p1", ...) depend on span order, so each span's processID is replaced by the
// process it names. Tags, logs, fields and references keep their order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, makeTeeProvider, trace } from '../integration/lib/otel.mjs';
import { startServer } from '../integration/lib/server.mjs';
import { startJaeger } from './jaeger.mjs';

let jaeger;  // { url, child, logPath }
let teletrace;
const sent = { traceIds: [] };

function makeService(attributes) {
  return makeTeeProvider([jaeger.grpc, `http://${teletrace.grpcUrl}`], attributes);
}

const T0 = Date.now() - 60_000;  // spans start a minute ago, at fixed offsets from here
const at = (ms) => new Date(T0 + ms);

function sendTraces() {
  const frontend = makeService({ 'service.name': 'frontend', 'host.name': 'web-1', 'process.pid': 4242, 'deployment.weight': 0.5 });
  const backend = makeService({ 'service.name': 'backend', 'host.name': 'api-7' });
  const db = makeService({ 'service.name': 'postgres' });
  const ft = frontend.getTracer('shop.http', '1.2.3');
  const bt = backend.getTracer('shop.api');
  const dt = db.getTracer('pg');
  const ids = [];

  // Trace A: frontend server -> frontend client -> backend server (error) -> postgres client x2.
  {
    const root = ft.startSpan('GET /cart', {
      kind: SpanKind.SERVER,
      startTime: at(0),
      attributes: {
        'http.method': 'GET', 'http.status_code': 200, 'ratio': 0.25, 'cached': false,
        'tags': ['a', 'b'], 'ids': [1, 2], 'weights': [1.5, 2.5], 'flags': [true, false],
        'user.id': 'u-42',
      },
    });
    root.addEvent('cart.loaded', { items: 3, 'cart.value': 12.5 }, at(2));
    root.addEvent('no attributes', at(3));
    root.setStatus({ code: SpanStatusCode.OK });
    const rctx = trace.setSpan(ROOT_CONTEXT, root);
    const client = ft.startSpan('call backend', { kind: SpanKind.CLIENT, startTime: at(10) }, rctx);
    const cctx = trace.setSpan(ROOT_CONTEXT, client);
    const server = bt.startSpan('POST /checkout', {
      kind: SpanKind.SERVER, startTime: at(12), attributes: { 'http.status_code': 500, 'user.id': 'u-42' },
    }, cctx);
    server.recordException({ name: 'Deadlock', message: 'deadlock detected' }, at(40));
    server.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
    const sctx = trace.setSpan(ROOT_CONTEXT, server);
    for (let i = 0; i < 2; ++i) {
      const q = dt.startSpan('SELECT cart', {
        kind: SpanKind.CLIENT, startTime: at(15 + 10 * i), attributes: { 'db.system': 'postgresql', 'db.rows': i },
      }, sctx);
      q.end(at(20 + 10 * i));
    }
    server.end(at(45));
    client.end(at(50));
    root.end(at(100));
    ids.push(root.spanContext().traceId);
  }
  // Trace B: a producer and a consumer linked to A's root, with an internal child; 5 ms.
  const linkTo = { context: { traceId: ids[0], spanId: '0123456789abcdef', traceFlags: 1 }, attributes: { 'link.kind': 'retry' } };
  {
    const producer = bt.startSpan('publish order', {
      kind: SpanKind.PRODUCER, startTime: at(200), links: [linkTo], attributes: { 'messaging.system': 'kafka' },
    });
    const pctx = trace.setSpan(ROOT_CONTEXT, producer);
    const consumer = bt.startSpan('consume order', { kind: SpanKind.CONSUMER, startTime: at(201) }, pctx);
    const inner = bt.startSpan('validate', { kind: SpanKind.INTERNAL, startTime: at(202) }, trace.setSpan(ROOT_CONTEXT, consumer));
    inner.end(at(203));
    consumer.end(at(204));
    producer.end(at(205));
    ids.push(producer.spanContext().traceId);
  }
  // Trace C: postgres alone, a long query (900 ms), unset status.
  {
    const q = dt.startSpan('VACUUM', { kind: SpanKind.INTERNAL, startTime: at(300), attributes: { 'db.system': 'postgresql' } });
    q.end(at(1200));
    ids.push(q.spanContext().traceId);
  }
  sent.traceIds = ids;
  sent.spanCounts = [5, 3, 1];
  return Promise.all([frontend, backend, db].map((p) => p.shutdown()));
}

async function getJson(base, pathAndQuery) {
  const res = await fetch(`${base}${pathAndQuery}`);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

// Waits until every sent trace has all its spans on `base`.
async function waitForTraces(base) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const missing = [];
    for (let i = 0; i < sent.traceIds.length; ++i) {
      const r = await getJson(base, `/api/traces/${sent.traceIds[i]}`);
      const n = r.status === 200 ? r.json.data[0].spans.length : 0;
      if (n !== sent.spanCounts[i]) missing.push(`${sent.traceIds[i]}: ${n} of ${sent.spanCounts[i]} spans ${r.status === 200 ? r.json.data[0].spans.map((x) => x.operationName + '/' + x.spanID).join(' ') : ''}`);
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      const who = base === jaeger.url ? 'jaeger' : 'teletrace';
      throw new Error(`traces incomplete on ${who}: ${missing.join(', ')}`);
    }
    await sleep(200);
  }
}

// A trace with spans sorted by span id and each processID replaced by its process.
function normalizeTrace(t) {
  const spans = t.spans
    .map((s) => ({ ...s, processID: undefined, process: t.processes[s.processID] }))
    .sort((a, b) => (a.spanID < b.spanID ? -1 : a.spanID > b.spanID ? 1 : 0));
  return { traceID: t.traceID, spans, warnings: t.warnings, processCount: Object.keys(t.processes).length };
}

function normalizeTraces(data) {
  return data.map(normalizeTrace).sort((a, b) => (a.traceID < b.traceID ? -1 : 1));
}

async function both(pathAndQuery) {
  const [j, t] = await Promise.all([getJson(jaeger.url, pathAndQuery), getJson(teletrace.apiUrl, pathAndQuery)]);
  return { j, t };
}

before(async () => {
  jaeger = await startJaeger();
  teletrace = await startServer();
  await sendTraces();
  await Promise.all([waitForTraces(jaeger.url), waitForTraces(teletrace.apiUrl)]);
});

after(async () => {
  jaeger?.child.kill('SIGTERM');
  await teletrace?.stop();
});

test('services', async () => {
  const { j, t } = await both('/api/services');
  assert.equal(t.status, 200);
  assert.deepEqual([...t.json.data].sort(), ['backend', 'frontend', 'postgres']);
  assert.deepEqual({ ...t.json, data: [...t.json.data].sort() }, { ...j.json, data: [...j.json.data].sort() });
});

test('operations of each service, with and without span kind', async () => {
  for (const service of ['frontend', 'backend', 'postgres']) {
    const a = await both(`/api/services/${service}/operations`);
    assert.equal(a.t.status, 200);
    assert.deepEqual([...a.t.json.data].sort(), [...a.j.json.data].sort(), service);
    assert.equal(a.t.json.total, a.j.json.total);
    for (const kind of ['', 'server', 'client', 'producer', 'consumer', 'internal']) {
      const q = `/api/operations?service=${service}${kind ? `&spanKind=${kind}` : ''}`;
      const b = await both(q);
      const key = (o) => `${o.name}\u0000${o.spanKind}`;
      const sort = (d) => [...d].sort((x, y) => (key(x) < key(y) ? -1 : 1));
      assert.equal(b.t.status, 200, q);
      assert.deepEqual(sort(b.t.json.data), sort(b.j.json.data), q);
      assert.equal(b.t.json.total, b.j.json.total, q);
    }
  }
});

test('every trace by id, field by field', async () => {
  for (let i = 0; i < sent.traceIds.length; ++i) {
    const { j, t } = await both(`/api/traces/${sent.traceIds[i]}`);
    assert.equal(t.status, 200);
    assert.equal(t.json.data[0].spans.length, sent.spanCounts[i]);
    assert.deepEqual(normalizeTraces(t.json.data), normalizeTraces(j.json.data));
    assert.deepEqual({ ...t.json, data: null }, { ...j.json, data: null });
  }
});

test('trace searches', async () => {
  const start = (T0 - 1000) * 1000;
  const end = (T0 + 10_000) * 1000;
  const range = `&start=${start}&end=${end}`;
  const cases = [
    'service=frontend',
    'service=backend',
    'service=postgres',
    'service=postgres&limit=1&start=' + (T0 + 250) * 1000 + `&end=${end}`,
    'service=backend&operation=POST%20%2Fcheckout',
    'service=backend&operation=nothing',
    'service=postgres&minDuration=100ms',
    'service=postgres&maxDuration=10ms',
    'service=postgres&minDuration=4ms&maxDuration=6ms',
    'service=frontend&tags=' + encodeURIComponent('{"http.status_code":"200"}'),
    'service=backend&tags=' + encodeURIComponent('{"http.status_code":"500","user.id":"u-42"}'),
    'service=frontend&tag=cached:false',
    'service=frontend&tag=ratio:0.25',
    'service=frontend&tag=host.name:web-1',
    'service=frontend&tag=items:3',
    'service=backend&tag=link.kind:retry',
    'service=postgres&tag=db.rows:1',
    'service=frontend&tag=http.status_code:500',
  ];
  for (const c of cases) {
    const q = `/api/traces?${c}${c.includes('&start=') ? '' : range}`;
    const { j, t } = await both(q);
    assert.equal(t.status, j.status, `${q}: ${t.text} vs ${j.text}`);
    assert.deepEqual(normalizeTraces(t.json.data).map((x) => x.traceID),
                     normalizeTraces(j.json.data).map((x) => x.traceID), q);
    assert.deepEqual(normalizeTraces(t.json.data), normalizeTraces(j.json.data), q);
  }
});

// Jaeger's memory store reads the `error` condition's text as a boolean and gets false, so both
// error=true and error=false select traces with an OK span (Jaeger v1.76.0,
// internal/storage/v2/memory/tenant.go). Teletrace matches the status as the tag shows it.
test('error=true finds the errored trace (where Jaeger memory store differs)', async () => {
  const q = `/api/traces?service=backend&tag=error:true&start=${(T0 - 1000) * 1000}&end=${(T0 + 10_000) * 1000}`;
  const t = await getJson(teletrace.apiUrl, q);
  assert.equal(t.status, 200);
  assert.deepEqual(t.json.data.map((x) => x.traceID), [sent.traceIds[0]]);
  const f = await getJson(teletrace.apiUrl, q.replace('error:true', 'error:false'));
  assert.deepEqual(f.json.data.map((x) => x.traceID), [sent.traceIds[1]]);
});

test('dependencies', async () => {
  const q = `/api/dependencies?endTs=${Date.now()}&lookback=3600000`;
  const { j, t } = await both(q);
  const sort = (d) => [...d].map(({ parent, child, callCount }) => ({ parent, child, callCount }))
    .sort((x, y) => (`${x.parent} ${x.child}` < `${y.parent} ${y.child}` ? -1 : 1));
  assert.equal(t.status, 200);
  // A service calling itself counts, as in Jaeger: producer -> consumer -> validate in backend,
  // GET /cart -> call backend in frontend.
  assert.deepEqual(sort(t.json.data), [
    { parent: 'backend', child: 'backend', callCount: 2 },
    { parent: 'backend', child: 'postgres', callCount: 2 },
    { parent: 'frontend', child: 'backend', callCount: 1 },
    { parent: 'frontend', child: 'frontend', callCount: 1 },
  ]);
  assert.deepEqual(sort(t.json.data), sort(j.json.data));
});

test('bad requests get the same status as from Jaeger', async () => {
  for (const q of [
    '/api/traces',
    '/api/traces?service=frontend&limit=abc',
    '/api/traces?service=frontend&minDuration=abc',
    '/api/traces?service=frontend&minDuration=2s&maxDuration=1s',
    '/api/traces?service=frontend&tag=novalue',
    '/api/traces?service=frontend&tags=%7Bbad',
    '/api/traces/zzzz',
    '/api/traces/0000000000000000000000000000beef',
    '/api/operations',
  ]) {
    const { j, t } = await both(q);
    assert.equal(t.status, j.status, `${q}: ${t.text} vs ${j.text}`);
    assert.equal(t.json.data, null, q);
    assert.equal(t.json.errors.length, 1, q);
    assert.equal(t.json.errors[0].code, t.status, q);
  }
});
