// Differential test of Zipkin ingest: the same Zipkin JSON v2 payloads go to the real Jaeger v2's
// Zipkin receiver (the OpenTelemetry Collector's, zipkin JSON v2 -> OTLP) and to teletrace's
// POST /api/v2/spans; then every trace, read back through the Jaeger query API of both, must be
// equal field by field (spans sorted by span id, each processID replaced by its process, as in
// differential.test.mjs). This pins teletrace's Zipkin mapping to the Collector's. The payloads are
// hand-written (every mapped field) plus what the official OpenTelemetry JS Zipkin exporter sends.
// Then teletrace's own Zipkin query API is checked on the same data.
//
// Not sent: spans sharing one id (a Zipkin client and server half): teletrace stores a span id once
// per trace, Jaeger keeps both; and spans without a timestamp (stored at the epoch, which the
// retention pass may delete at any time). Both are covered by the unit tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '../integration/lib/otel.mjs';
import { freePort, startServer } from '../integration/lib/server.mjs';
import {
  BasicTracerProvider, SimpleSpanProcessor, ZipkinExporter, resourceFromAttributes,
} from '../integration/lib/zipkin.mjs';
import { startJaeger } from './jaeger.mjs';

let jaeger;
let teletrace;
let teletraceZipkin;  // server.zipkin_port: a listener that serves POST /api/v2/spans only
const traces = [];  // { id (as Jaeger's API writes it), spans (count) }

const T0_US = (Date.now() - 60_000) * 1000;  // a minute ago, in µs
const hex = (bytes) => randomBytes(bytes).toString('hex');

// Hand-written payloads: every field of the mapping.
function handWritten() {
  const a = hex(8);  // a 64-bit trace id
  const b = hex(16);
  const [root, client, server, db] = [hex(8), hex(8), hex(8), hex(8)];
  const frontendTags = { 'host.name': 'web-1', 'service.version': '1.0.0' };
  const spans = [
    {
      traceId: a, id: root, kind: 'SERVER', name: 'get /cart', timestamp: T0_US, duration: 100_000,
      localEndpoint: { serviceName: 'zfrontend', ipv4: '192.168.99.1', port: 8080 },
      remoteEndpoint: { ipv6: '2001:DB8:0:0:0:0:0:1', port: 63720 },
      annotations: [{ timestamp: T0_US + 10, value: 'wr' }, { timestamp: T0_US + 99_000, value: 'ws' }],
      tags: { ...frontendTags, 'http.method': 'GET', 'http.path': '/cart', 'http.status_code': '200' },
      debug: true,
    },
    {
      traceId: a, parentId: root, id: client, kind: 'CLIENT', name: 'call backend',
      timestamp: T0_US + 1_000, duration: 50_000,
      localEndpoint: { serviceName: 'zfrontend', ipv4: '192.168.99.1' },
      remoteEndpoint: { serviceName: 'zbackend', ipv4: '172.19.0.3', port: 9000 },
      tags: { ...frontendTags, 'http.method': 'POST' },
    },
    {
      traceId: a, parentId: client, id: server, kind: 'SERVER', name: 'post /checkout',
      timestamp: T0_US + 2_000, duration: 40_000,
      localEndpoint: { serviceName: 'zbackend', ipv4: '172.19.0.3', port: 9000 },
      annotations: [{
        timestamp: T0_US + 30_000,
        value: 'exception|{"exception.type":"Deadlock","exception.message":"a|b","retries":2,"fatal":true,"ratio":0.5}|1',
      }],
      tags: { error: 'true', 'otel.status_code': 'STATUS_CODE_ERROR', 'otel.status_description': 'deadlock' },
    },
    {
      traceId: a, parentId: server, id: db, kind: 'CLIENT', name: 'select cart',
      timestamp: T0_US + 3_000, duration: 5_000,
      localEndpoint: { serviceName: 'zbackend', ipv4: '172.19.0.3', port: 9000 },
      remoteEndpoint: { serviceName: 'postgres', ipv4: '10.0.0.5', port: 5432 },
      tags: {
        error: 'timeout', 'db.system': 'postgresql', 'otel.library.name': 'pg-lib',
        'otel.library.version': '0.9', 'span.kind': 'internal',
      },
    },
    {
      traceId: b, id: hex(8), name: 'validate', timestamp: T0_US + 200_000, duration: 1_500,
      localEndpoint: { serviceName: 'zbackend', ipv6: '::1' },
      tags: {
        'span.kind': 'internal', 'otel.status_code': 'Ok', 'w3c.tracestate': 'vendor=x',
        'otlp.link.0': `${a.padStart(32, '0')}|${root}|congo=t61|{"link.kind":"retry"}|0`,
      },
    },
    {
      traceId: b, id: 'abcdef0123456789', parentId: 'abcdef0123456789', kind: 'CONSUMER',
      name: 'consume order', timestamp: T0_US + 201_000, duration: 800, shared: true,
      localEndpoint: { serviceName: 'zbackend' }, remoteEndpoint: { serviceName: 'kafka' },
      tags: { 'messaging.system': 'kafka', 'span.kind': 'internal' },
    },
    {
      traceId: b, id: hex(8), kind: 'PRODUCER', name: 'anonymous', timestamp: T0_US + 202_000,
      duration: 10, localEndpoint: { ipv4: '10.1.1.1' }, tags: { 'host.name': 'dropped-with-no-service' },
    },
  ];
  traces.push({ id: a, spans: 4 }, { id: b, spans: 3 });
  return spans;
}

// What the official OpenTelemetry JS Zipkin exporter sends for a small trace (one request per
// span, as SimpleSpanProcessor exports each when it ends), captured by a local endpoint.
async function fromJsExporter() {
  const bodies = [];
  const capture = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202).end();
    });
  });
  await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${capture.address().port}/api/v2/spans`;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'zjs', 'host.name': 'js-1', 'process.pid': 77 }),
    spanProcessors: [new SimpleSpanProcessor(new ZipkinExporter({ url }))],
  });
  const tracer = provider.getTracer('zjs.lib', '2.0.0');
  const at = (ms) => new Date(T0_US / 1000 + 300 + ms);
  const root = tracer.startSpan('GET /js', {
    kind: SpanKind.SERVER, startTime: at(0),
    attributes: { 'http.status_code': 500, ratio: 0.25, cached: false, tags: ['a', 'b'] },
  });
  root.addEvent('loaded', { items: 3 }, at(1));
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  const child = tracer.startSpan('work', { kind: SpanKind.INTERNAL, startTime: at(2) },
    trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end(at(5));
  const producer = tracer.startSpan('publish', { kind: SpanKind.PRODUCER, startTime: at(6) },
    trace.setSpan(ROOT_CONTEXT, root));
  producer.end(at(7));
  root.end(at(10));
  await provider.forceFlush();
  await provider.shutdown();
  await new Promise((resolve) => capture.close(resolve));
  assert.equal(bodies.length, 3, 'the Zipkin exporter sends one request per span');
  traces.push({ id: root.spanContext().traceId, spans: 3 });
  return bodies;
}

async function post(base, body) {
  const res = await fetch(`${base}/api/v2/spans`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body,
  });
  return { status: res.status, text: await res.text() };
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

async function waitForTraces(base) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const missing = [];
    for (const t of traces) {
      const r = await getJson(base, `/api/traces/${t.id}`);
      const n = r.status === 200 ? r.json.data[0].spans.length : 0;
      if (n !== t.spans) missing.push(`${t.id}: ${n} of ${t.spans}`);
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`traces incomplete on ${base}: ${missing.join(', ')}`);
    await sleep(200);
  }
}

function normalizeTrace(t) {
  const spans = t.spans
    .map((s) => ({ ...s, processID: undefined, process: t.processes[s.processID] }))
    .sort((a, b) => (a.spanID < b.spanID ? -1 : a.spanID > b.spanID ? 1 : 0));
  return { traceID: t.traceID, spans, warnings: t.warnings, processCount: Object.keys(t.processes).length };
}

before(async () => {
  const zipkinPort = await freePort();
  [jaeger, teletrace] = await Promise.all([
    startJaeger(), startServer({ extraArgs: [`--server.zipkin_port=${zipkinPort}`] })]);
  teletraceZipkin = `http://127.0.0.1:${zipkinPort}`;
  // The hand-written spans to the UI/API port, the exporter's to the Zipkin port.
  const bodies = [[JSON.stringify(handWritten()), teletrace.apiUrl],
                  ...(await fromJsExporter()).map((b) => [b, teletraceZipkin])];
  for (const [body, target] of bodies) {
    const [j, t] = await Promise.all([post(jaeger.zipkin, body), post(target, body)]);
    assert.equal(j.status, 202, `jaeger: ${j.text}`);
    assert.equal(t.status, 202, `teletrace: ${t.text}`);
  }
  await Promise.all([waitForTraces(jaeger.url), waitForTraces(teletrace.apiUrl)]);
});

after(async () => {
  jaeger?.child.kill('SIGTERM');
  await teletrace?.stop();
});

test('every Zipkin trace reads back as through the Collector, field by field', async () => {
  for (const { id, spans } of traces) {
    const [j, t] = await Promise.all([getJson(jaeger.url, `/api/traces/${id}`),
                                      getJson(teletrace.apiUrl, `/api/traces/${id}`)]);
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.data.length, 1);
    assert.equal(t.json.data[0].spans.length, spans);
    assert.deepEqual(normalizeTrace(t.json.data[0]), normalizeTrace(j.json.data[0]), id);
  }
});

test('malformed payloads are refused by both, nothing stored', async () => {
  for (const body of ['{"not":"an array"}', '[{"traceId":"xyz","id":"0000000000000001"}]']) {
    const [j, t] = await Promise.all([post(jaeger.zipkin, body), post(teletrace.apiUrl, body)]);
    assert.equal(j.status, 400, body);
    assert.equal(t.status, 400, body);
  }
  const t = await post(teletrace.apiUrl, '[{"traceId":"xyz","id":"0000000000000001"}]');
  assert.equal(t.text, 'spans[0].traceId: expected 16 or 32 hex digits');
});

test('the Zipkin port serves POST /api/v2/spans only', async () => {
  const r = await getJson(teletraceZipkin, '/api/v2/services');
  assert.equal(r.status, 404);
  assert.equal(r.text, 'no such path /api/v2/services: Zipkin spans are sent to POST /api/v2/spans');
  const get = await getJson(teletraceZipkin, '/api/v2/spans');
  assert.equal(get.status, 405);
});

test('teletrace Zipkin API: services, span names, remote services', async () => {
  const services = await getJson(teletrace.apiUrl, '/api/v2/services');
  assert.equal(services.status, 200);
  assert.deepEqual(services.json, ['zbackend', 'zfrontend', 'zjs']);
  const names = await getJson(teletrace.apiUrl, '/api/v2/spans?serviceName=zbackend');
  assert.deepEqual(names.json, ['consume order', 'post /checkout', 'select cart', 'validate']);
  const remote = await getJson(teletrace.apiUrl, '/api/v2/remoteServices?serviceName=zbackend');
  assert.deepEqual(remote.json, ['kafka', 'postgres']);
});

test('teletrace Zipkin API: a trace reads back as it was sent', async () => {
  const sent = traces[0];
  const r = await getJson(teletrace.apiUrl, `/api/v2/trace/${sent.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.length, 4);
  const byName = Object.fromEntries(r.json.map((s) => [s.name, s]));
  assert.deepEqual(byName['get /cart'], {
    traceId: sent.id, id: byName['get /cart'].id, kind: 'SERVER', name: 'get /cart',
    timestamp: T0_US, duration: 100_000,
    localEndpoint: { serviceName: 'zfrontend', ipv4: '192.168.99.1', port: 8080 },
    remoteEndpoint: { ipv6: '2001:db8::1', port: 63720 },
    annotations: [{ timestamp: T0_US + 10, value: 'wr' }, { timestamp: T0_US + 99_000, value: 'ws' }],
    tags: {
      'host.name': 'web-1', 'http.method': 'GET', 'http.path': '/cart', 'http.status_code': '200',
      'service.version': '1.0.0',
    },
  });
  assert.deepEqual(byName['call backend'].remoteEndpoint,
                   { serviceName: 'zbackend', ipv4: '172.19.0.3', port: 9000 });
  assert.deepEqual(byName['post /checkout'].tags, {
    error: 'true', 'otel.status_code': 'STATUS_CODE_ERROR', 'otel.status_description': 'deadlock',
  });
  assert.equal(byName['post /checkout'].annotations[0].value,
               'exception|{"exception.message":"a|b","exception.type":"Deadlock","fatal":true,"ratio":0.5,"retries":2}|1');
  assert.deepEqual(byName['select cart'].tags, {
    'db.system': 'postgresql', error: 'true', 'otel.library.name': 'pg-lib',
    'otel.library.version': '0.9', 'otel.status_code': 'STATUS_CODE_ERROR', 'span.kind': 'internal',
  });
  const unknown = await getJson(teletrace.apiUrl, '/api/v2/trace/0123456789abcdef');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.text, 'trace 0123456789abcdef not found');
});

test('teletrace Zipkin API: trace search', async () => {
  const window = `endTs=${Math.ceil(T0_US / 1000) + 60_000}&lookback=3600000`;
  const backend = await getJson(teletrace.apiUrl, `/api/v2/traces?serviceName=zbackend&${window}`);
  assert.equal(backend.status, 200, backend.text);
  assert.deepEqual(backend.json.map((t) => t.length), [3, 4]);  // newest first
  const frontend = await getJson(teletrace.apiUrl,
    `/api/v2/traces?serviceName=zfrontend&spanName=call%20backend&${window}`);
  assert.deepEqual(frontend.json.map((t) => t[0].traceId), [traces[0].id]);
  const errors = await getJson(teletrace.apiUrl,
    `/api/v2/traces?annotationQuery=error%3Dtrue%20and%20db.system&${window}`);
  assert.deepEqual(errors.json.map((t) => t[0].traceId), [traces[0].id]);
  const slow = await getJson(teletrace.apiUrl,
    `/api/v2/traces?serviceName=zbackend&minDuration=30000&${window}`);
  assert.deepEqual(slow.json.map((t) => t.length), [4]);
  const limited = await getJson(teletrace.apiUrl, `/api/v2/traces?limit=1&${window}`);
  assert.equal(limited.json.length, 1);
});

test('Zipkin ingest on the UI/API port takes the ingest token, not the API token', async () => {
  const srv = await startServer({ extraArgs: ['--auth.api_token=api-secret', '--auth.ingest_token=ingest-secret'] });
  try {
    const body = JSON.stringify([{ traceId: hex(8), id: hex(8), name: 'x', timestamp: T0_US, duration: 1,
                                   localEndpoint: { serviceName: 'ztoken' } }]);
    const send = (token) => fetch(`${srv.apiUrl}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    const none = await send('');
    assert.equal(none.status, 401);
    assert.equal(await none.text(), 'missing or invalid bearer token');
    assert.equal((await send('api-secret')).status, 401);
    assert.equal((await send('ingest-secret')).status, 202);
    // Reading is the query API: the API token.
    const services = await fetch(`${srv.apiUrl}/api/v2/services`, { headers: { authorization: 'Bearer api-secret' } });
    assert.equal(services.status, 200);
    assert.deepEqual(await services.json(), ['ztoken']);
    assert.equal((await fetch(`${srv.apiUrl}/api/v2/services`)).status, 401);
  } finally {
    await srv.stop();
  }
});
