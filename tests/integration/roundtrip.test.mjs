// Round trip: three services, one per OTLP exporter (gRPC, HTTP/protobuf, HTTP/JSON), send known
// traces through the official OpenTelemetry JS SDK (plus one hand-built OTLP/JSON trace for what
// the SDK cannot express: kvlist and bytes values, int64 beyond 2^53, unspecified kind, dropped
// counts, scope attributes). Everything is read back through every v1 endpoint and compared field
// by field with exact nanoseconds and exact counts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';

import { Api, pickInternalSpan } from './lib/api.mjs';
import { big } from './lib/json.mjs';
import {
  ROOT_CONTEXT,
  expectedInternalSpan,
  extractContext,
  injectHeaders,
  makeService,
  trace,
} from './lib/otel.mjs';
import {
  V,
  jsonExportRequest,
  newSpanId,
  newTraceId,
  otlpPartialSuccess,
  postTraces,
  stringifyJson,
} from './lib/otlp.mjs';
import { REPO_ROOT, startServer, TELETRACE_BIN } from './lib/server.mjs';

const NS = 1_000_000_000n;
// Base second, aligned to a minute so histogram buckets are known: T1 lies in [S, S+3) s,
// T2 at S-55 s, T3 at S-175 s.
const S = Math.floor(Date.now() / 1000 / 60) * 60 - 600;
const SN = BigInt(S) * NS;

let srv;
let api;
let services = [];
const testStartNanos = BigInt(Date.now()) * 1_000_000n;

// spanId -> expected InternalSpan (times as BigInt); name -> spanId; ids of the three traces.
const expected = new Map();
const byName = new Map();
const ids = {};

function remember(exp) {
  expected.set(exp.span.spanId, exp);
  assert.ok(!byName.has(exp.span.name), `span names must be unique: ${exp.span.name}`);
  byName.set(exp.span.name, exp.span.spanId);
}

async function sendSdkTraces() {
  const frontend = makeService('grpc', srv, {
    'service.name': 'frontend',
    'service.version': '1.2.3',
    'deployment.environment': 'it',
    'host.cores': 8,
    'res.ratio': 0.75,
    'res.canary': true,
  });
  const backend = makeService('proto', srv, {
    'service.name': 'backend',
    'deployment.environment': 'it',
    'host.cores': 2,
  });
  const worker = makeService('json', srv, {
    'service.name': 'worker',
    'deployment.environment': 'it',
  });
  services = [frontend, backend, worker];
  const ft = frontend.tracer('it-frontend', '1.0.0');
  const bt = backend.tracer('it-backend', '2.0.0');
  const wt = worker.tracer('it-worker', '3.0.0');

  // T2: a separate trace that T1's root links to.
  const cron = wt.startSpan(
    'cron tick',
    {
      kind: SpanKind.INTERNAL,
      startTime: [S - 55, 111111111],
      attributes: { 'cron.schedule': '*/5 * * * *' },
    },
    ROOT_CONTEXT,
  );
  cron.end([S - 55, 611111117]);

  // T1: frontend (gRPC) -> backend (HTTP/protobuf) -> worker (HTTP/JSON).
  const linkContext = {
    ...cron.spanContext(),
    traceState: new TraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'),
  };
  const root = ft.startSpan(
    'GET /checkout',
    {
      kind: SpanKind.SERVER,
      startTime: [S, 123456789],
      attributes: {
        'http.method': 'GET',
        'http.status_code': 200,
        'it.double': 3.141592653589793,
        'it.bool': true,
        'it.false': false,
        'it.negative': -17,
        'it.empty': '',
        'it.unicode': 'héllo ✓ 日本 "quoted" \\ back',
        'it.str_array': ['a', 'b', 'c'],
        'it.int_array': [1, 2, 3],
        'it.double_array': [1.5, -2.25],
        'it.bool_array': [true, false],
      },
      links: [
        {
          context: linkContext,
          attributes: { 'link.kind': 'follows', 'link.weight': 2, 'link.ratio': 0.25, 'link.ok': true },
        },
      ],
    },
    ROOT_CONTEXT,
  );
  root.addEvent(
    'request.received',
    { 'ev.str': 'hello', 'ev.int': 7, 'ev.double': 0.5, 'ev.bool': true, 'ev.arr': ['x', 'y'] },
    [S, 123457789],
  );
  root.addEvent('cache.miss', { 'ev.int': 8, 'ev.str': 'second' }, [S, 200000001]);
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);

  const client = ft.startSpan(
    'call backend',
    {
      kind: SpanKind.CLIENT,
      startTime: [S, 223456781],
      attributes: { 'http.method': 'POST', 'peer.service': 'backend', 'http.status_code': 500 },
    },
    rootCtx,
  );
  const headers = injectHeaders(client);
  headers.tracestate = 'rojo=00f067aa0ba902b7';

  const server = bt.startSpan(
    'POST /charge',
    {
      kind: SpanKind.SERVER,
      startTime: [S, 323456783],
      attributes: { 'http.method': 'POST', 'http.status_code': 500 },
    },
    extractContext(headers),
  );
  const serverCtx = trace.setSpan(ROOT_CONTEXT, server);
  const db = bt.startSpan(
    'db.query',
    {
      kind: SpanKind.INTERNAL,
      startTime: [S, 423456785],
      attributes: { 'db.system': 'sqlite', 'db.rows': 0 },
    },
    serverCtx,
  );
  db.addEvent(
    'exception',
    { 'exception.type': 'CardDeclined', 'exception.message': 'insufficient funds' },
    [S, 923456780],
  );
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  db.end([S, 923456787]);
  const producer = bt.startSpan(
    'publish charge',
    {
      kind: SpanKind.PRODUCER,
      startTime: [S + 1, 23456787],
      attributes: { 'messaging.system': 'kafka', 'messaging.destination': 'charges' },
    },
    serverCtx,
  );
  producer.end([S + 1, 123456791]);
  const messageHeaders = injectHeaders(producer);
  server.end([S + 1, 776543213]);
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream returned 500' });
  client.end([S + 1, 876543211]);

  const consume = wt.startSpan(
    'consume charge',
    {
      kind: SpanKind.CONSUMER,
      startTime: [S + 1, 523456791],
      attributes: { 'messaging.system': 'kafka', 'messaging.batch.size': 3 },
    },
    extractContext(messageHeaders),
  );
  consume.end([S + 2, 23456795]);

  const render = ft.startSpan(
    'render',
    { kind: SpanKind.INTERNAL, startTime: [S + 1, 900000001], attributes: { template: 'checkout.html' } },
    rootCtx,
  );
  render.setStatus({ code: SpanStatusCode.OK });
  render.end([S + 2, 500000003]);
  root.end([S + 2, 987654321]);

  // forceFlush rejects when an export fails, so resolving means every span was acknowledged.
  await Promise.all(services.map((s) => s.flush()));

  for (const svc of services) {
    for (const rs of svc.memory.getFinishedSpans()) remember(expectedInternalSpan(rs));
  }
  ids.T1 = root.spanContext().traceId;
  ids.T2 = cron.spanContext().traceId;
}

async function sendRawJsonTrace() {
  const T3 = newTraceId();
  const rootId = newSpanId();
  const childId = newSpanId();
  const base = BigInt(S - 175) * NS;
  const t1root = byName.get('GET /checkout');
  const body = jsonExportRequest([
    {
      resource: {
        attributes: { 'service.name': 'raw-json-svc', 'res.kv': V.kv({ a: 'x', b: V.int(5) }) },
      },
      scopes: [
        {
          scope: { name: 'raw-scope', version: '0.0.1', attributes: { 'scope.team': 'raw' } },
          spans: [
            {
              traceId: T3,
              spanId: rootId,
              traceState: 'vendor=a',
              name: 'raw root',
              kind: 0,
              start: base + 123n,
              end: base + 2_000_000_456n,
              attributes: {
                kv: V.kv({ 'inner.str': 'v', 'inner.int': V.int(42), nested: V.kv({ deep: true }) }),
                'big.int': V.int(9007199254740993n),
                'neg.int': V.int(-42),
                'mixed.arr': V.arr(['a', V.int(1), true, V.dbl(2.5)]),
                'raw.bytes': V.bytes([1, 2, 3]),
              },
              droppedAttributesCount: 3,
              events: [
                {
                  time: base + 1000n,
                  name: 'raw.event',
                  attributes: { 'ev.raw': V.int(1) },
                  droppedAttributesCount: 1,
                },
              ],
              droppedEventsCount: 1,
              links: [
                {
                  traceId: ids.T1,
                  spanId: t1root,
                  traceState: 'x=y',
                  attributes: { 'link.kind': 'raw' },
                  droppedAttributesCount: 4,
                },
              ],
              droppedLinksCount: 2,
              status: { code: 1 },
            },
            {
              traceId: T3,
              spanId: childId,
              parentSpanId: rootId,
              name: 'raw child',
              kind: 1,
              start: base + 500_000_000n,
              end: base + 1_000_000_001n,
              flags: 1,
            },
          ],
        },
      ],
    },
  ]);
  // The child's times go as JSON numbers (the root's as strings): OTLP/JSON allows both.
  const child = body.resourceSpans[0].scopeSpans[0].spans[1];
  child.startTimeUnixNano = BigInt(child.startTimeUnixNano);
  child.endTimeUnixNano = BigInt(child.endTimeUnixNano);

  const res = await postTraces(srv.otlpTracesUrl, stringifyJson(body), {
    contentType: 'application/json',
  });
  assert.equal(res.status, 200, `raw OTLP/JSON export: ${res.body.toString()}`);
  assert.match(res.contentType, /^application\/json/);
  const ps = otlpPartialSuccess(res);
  assert.ok(ps === null || ps.rejectedSpans === 0n, `unexpected partial success ${JSON.stringify(ps, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);

  const resource = { attributes: { 'service.name': 'raw-json-svc', 'res.kv': { a: 'x', b: 5 } }, droppedAttributesCount: 0 };
  const scope = { name: 'raw-scope', version: '0.0.1', attributes: { 'scope.team': 'raw' }, droppedAttributesCount: 0 };
  remember({
    resource,
    scope,
    span: {
      traceId: T3,
      spanId: rootId,
      traceState: 'vendor=a',
      parentSpanId: '',
      name: 'raw root',
      kind: 'Unspecified',
      startTimeUnixNano: base + 123n,
      endTimeUnixNano: base + 2_000_000_456n,
      attributes: {
        kv: { 'inner.str': 'v', 'inner.int': 42, nested: { deep: true } },
        'big.int': 9007199254740993n,
        'neg.int': -42,
        'mixed.arr': ['a', 1, true, 2.5],
        'raw.bytes': 'AQID', // bytes render as base64, as OTLP/JSON writes them
      },
      droppedAttributesCount: 3,
      events: [{ timeUnixNano: base + 1000n, name: 'raw.event', attributes: { 'ev.raw': 1 }, droppedAttributesCount: 1 }],
      droppedEventsCount: 1,
      links: [{ traceId: ids.T1, spanId: t1root, traceState: 'x=y', attributes: { 'link.kind': 'raw' }, droppedAttributesCount: 4 }],
      droppedLinksCount: 2,
      status: { code: 'Ok', message: '' },
    },
    externalFields: { durationNano: 2_000_000_333n },
  });
  remember({
    resource,
    scope,
    span: {
      traceId: T3,
      spanId: childId,
      traceState: '',
      parentSpanId: rootId,
      name: 'raw child',
      kind: 'Internal',
      startTimeUnixNano: base + 500_000_000n,
      endTimeUnixNano: base + 1_000_000_001n,
      attributes: {},
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: 'Unset', message: '' },
    },
    externalFields: { durationNano: 500_000_001n },
  });
  ids.T3 = T3;
}

// Compares a server InternalSpan with its expectation.
function assertSpanEqual(actual, label = '') {
  const exp = expected.get(actual.span?.spanId);
  assert.ok(exp, `${label}unexpected span ${actual.span?.traceId}/${actual.span?.spanId} ${actual.span?.name}`);
  const got = pickInternalSpan(actual);
  assert.deepStrictEqual(got, exp, `${label}span ${exp.span.name}`);
  const ingested = big(actual.ingestionTimeUnixNano);
  assert.ok(
    ingested >= testStartNanos - 5n * NS && ingested <= BigInt(Date.now()) * 1_000_000n + 5n * NS,
    `ingestionTimeUnixNano ${ingested} is about now`,
  );
}

const ALL = { startTimeUnixNanoSec: SN - 600n * NS, endTimeUnixNanoSec: 0n };
const START_ASC = [{ field: 'span.startTimeUnixNano', ascending: true }];

function names(spans) {
  return spans.map((s) => s.span.name);
}

function sortedNames(spans) {
  return names(spans).sort();
}

function f(key, operator, value) {
  const kv = { key, operator };
  if (value !== undefined) kv.value = value;
  return { keyValueFilter: kv };
}

async function searchOk(body) {
  const res = await api.search(body);
  assert.equal(res.status, 200, `search ${stringifyJson(body)}: ${res.text}`);
  return res.json;
}

// Every expected span (times as BigInt), in a given order.
function expectedSorted(field, ascending) {
  const all = [...expected.values()];
  const key = (e) => (field === 'duration' ? e.externalFields.durationNano : e.span.startTimeUnixNano);
  all.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (!ascending) all.reverse();
  return all.map((e) => e.span.name);
}

before(async () => {
  srv = await startServer();
  api = new Api(srv.apiUrl);
  await sendSdkTraces();
  await sendRawJsonTrace();
});

after(async () => {
  await Promise.allSettled(services.map((s) => s.shutdown()));
  if (srv) await srv.stop();
});

describe('data sent', () => {
  it('has the shape the tests assume', () => {
    assert.equal(expected.size, 10);
    const durations = [...expected.values()].map((e) => e.externalFields.durationNano);
    const starts = [...expected.values()].map((e) => e.span.startTimeUnixNano);
    assert.equal(new Set(durations).size, 10, 'durations are distinct');
    assert.equal(new Set(starts).size, 10, 'start times are distinct');
    const kinds = new Set([...expected.values()].map((e) => e.span.kind));
    assert.deepStrictEqual(
      [...kinds].sort(),
      ['Client', 'Consumer', 'Internal', 'Producer', 'Server', 'Unspecified'],
    );
  });
});

describe('GET /v1/ping and /v1/system-info', () => {
  it('ping answers pong as text/plain', async () => {
    const res = await api.ping();
    assert.equal(res.status, 200);
    assert.equal(res.text, 'pong');
    assert.match(res.contentType, /^text\/plain/);
  });

  it('system-info has a uuid that is stable across calls', async () => {
    const a = await api.systemInfo();
    const b = await api.systemInfo();
    assert.equal(a.status, 200);
    assert.match(a.json.systemId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepStrictEqual(b.json, a.json);
  });

  it('system-info names the version that --version prints, the one in the VERSION file, and the ingest ports', async () => {
    const version = readFileSync(path.join(REPO_ROOT, 'VERSION'), 'utf8').trim();
    const printed = execFileSync(TELETRACE_BIN, ['--version'], { encoding: 'utf8' });
    assert.match(printed, new RegExp(`^teletrace ${version.replaceAll('.', '\\.')} ` +
      '\\(commit ([0-9a-f]{12}(-dirty)?|unknown), built \\d{4}-\\d{2}-\\d{2}\\)\\n$'));
    const info = await api.systemInfo();
    assert.deepStrictEqual(Object.keys(info.json).sort(), ['ingest', 'systemId', 'version']);
    assert.equal(info.json.version, version);
    // The ports this server listens on (free ports chosen by the test, not the defaults); no
    // Zipkin listener of its own.
    assert.deepStrictEqual(info.json.ingest, { otlpGrpcPort: srv.ports.grpc, otlpHttpPort: srv.ports.otlpHttp, zipkinPort: 0 });
  });

  it('--probe exits 0 for this ready server and 1, naming the URL, when nothing listens', () => {
    const probe = (port) =>
      spawnSync(TELETRACE_BIN, ['--probe', '--server.host=0.0.0.0', `--server.http_port=${port}`],
        { encoding: 'utf8' });
    const ready = probe(srv.ports.http);
    assert.equal(ready.status, 0, ready.stderr);
    assert.equal(ready.stderr, '');
    const refused = probe(1); // privileged and unused: the connection is refused
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^teletrace --probe: http:\/\/127\.0\.0\.1:\d+\/readyz: Couldn't connect/);
  });
});

describe('GET /v1/trace/:id', () => {
  it('returns the 7-span cross-service trace field by field, ordered by start time', async () => {
    const res = await api.trace(ids.T1);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.metadata, null);
    const spans = res.json.spans;
    assert.equal(spans.length, 7);
    for (const s of spans) assertSpanEqual(s, 'T1 ');
    assert.deepStrictEqual(names(spans), [
      'GET /checkout',
      'call backend',
      'POST /charge',
      'db.query',
      'publish charge',
      'consume charge',
      'render',
    ]);
    const services = spans.map((s) => s.resource.attributes['service.name']);
    assert.deepStrictEqual(services, ['frontend', 'frontend', 'backend', 'backend', 'backend', 'worker', 'frontend']);
    // Parent links cross the service boundaries as propagated.
    const byN = Object.fromEntries(spans.map((s) => [s.span.name, s.span]));
    assert.equal(byN['POST /charge'].parentSpanId, byN['call backend'].spanId);
    assert.equal(byN['consume charge'].parentSpanId, byN['publish charge'].spanId);
    assert.equal(byN['POST /charge'].traceState, 'rojo=00f067aa0ba902b7');
  });

  it('keeps every attribute type, event and link of the root exactly', async () => {
    const res = await api.trace(ids.T1);
    const root = res.json.spans.find((s) => s.span.name === 'GET /checkout');
    // Spelled out (not only derived from the SDK's record) so a wrong expectation cannot hide.
    assert.deepStrictEqual(root.span.attributes, {
      'http.method': 'GET',
      'http.status_code': 200,
      'it.double': 3.141592653589793,
      'it.bool': true,
      'it.false': false,
      'it.negative': -17,
      'it.empty': '',
      'it.unicode': 'héllo ✓ 日本 "quoted" \\ back',
      'it.str_array': ['a', 'b', 'c'],
      'it.int_array': [1, 2, 3],
      'it.double_array': [1.5, -2.25],
      'it.bool_array': [true, false],
    });
    assert.equal(big(root.span.startTimeUnixNano), SN + 123456789n);
    assert.equal(big(root.span.endTimeUnixNano), SN + 2n * NS + 987654321n);
    assert.equal(big(root.externalFields.durationNano), 2_864_197_532n);
    assert.deepStrictEqual(
      root.span.events.map((e) => [big(e.timeUnixNano), e.name, e.attributes]),
      [
        [SN + 123457789n, 'request.received', { 'ev.str': 'hello', 'ev.int': 7, 'ev.double': 0.5, 'ev.bool': true, 'ev.arr': ['x', 'y'] }],
        [SN + 200000001n, 'cache.miss', { 'ev.int': 8, 'ev.str': 'second' }],
      ],
    );
    // Only the fields REFERENCE §2 defines (the server may add more, e.g. flags).
    const links = root.span.links.map(({ traceId, spanId, traceState, attributes, droppedAttributesCount }) =>
      ({ traceId, spanId, traceState, attributes, droppedAttributesCount }));
    assert.deepStrictEqual(links, [
      {
        traceId: ids.T2,
        spanId: byName.get('cron tick'),
        traceState: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
        attributes: { 'link.kind': 'follows', 'link.weight': 2, 'link.ratio': 0.25, 'link.ok': true },
        droppedAttributesCount: 0,
      },
    ]);
    assert.deepStrictEqual(root.scope, { name: 'it-frontend', version: '1.0.0', attributes: {}, droppedAttributesCount: 0 });
    assert.equal(root.resource.attributes['service.name'], 'frontend');
    assert.equal(root.resource.attributes['host.cores'], 8);
    assert.equal(root.resource.attributes['res.ratio'], 0.75);
    assert.equal(root.resource.attributes['res.canary'], true);
    const db = res.json.spans.find((s) => s.span.name === 'db.query');
    assert.deepStrictEqual(db.span.status, { message: 'card declined', code: 'Error' });
  });

  it('returns the linked single-span trace and the hand-built OTLP/JSON trace', async () => {
    const t2 = await api.trace(ids.T2);
    assert.equal(t2.status, 200, t2.text);
    assert.equal(t2.json.spans.length, 1);
    assertSpanEqual(t2.json.spans[0], 'T2 ');
    const t3 = await api.trace(ids.T3);
    assert.equal(t3.status, 200, t3.text);
    assert.deepStrictEqual(names(t3.json.spans), ['raw root', 'raw child']);
    for (const s of t3.json.spans) assertSpanEqual(s, 'T3 ');
    assert.equal(t3.json.spans[0].span.attributes['big.int'], 9007199254740993n);
  });

  it('accepts an upper-case trace id', async () => {
    const res = await api.trace(ids.T2.toUpperCase());
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.spans.length, 1);
    assert.equal(res.json.spans[0].span.traceId, ids.T2);
  });

  it('pages a trace with pageSize and nextToken', async () => {
    const { pages, spans } = await api.traceAll(ids.T1, 3);
    assert.deepStrictEqual(pages.map((p) => p.length), [3, 3, 1]);
    assert.deepStrictEqual(names(spans), names((await api.trace(ids.T1)).json.spans));
  });
});

describe('POST /v1/search', () => {
  it('returns every span over the whole timeframe, field by field', async () => {
    const body = await searchOk({ timeframe: ALL, filters: [], sort: START_ASC });
    assert.equal(body.metadata, null);
    assert.equal(body.spans.length, 10);
    for (const s of body.spans) assertSpanEqual(s, 'search ');
  });

  it('treats both timeframe bounds as inclusive', async () => {
    const rootStart = SN + 123456789n;
    let body = await searchOk({ timeframe: { startTimeUnixNanoSec: rootStart, endTimeUnixNanoSec: 0n }, filters: [], sort: START_ASC });
    assert.equal(body.spans.length, 7);
    assert.deepStrictEqual(new Set(body.spans.map((s) => s.span.traceId)), new Set([ids.T1]));
    body = await searchOk({ timeframe: { startTimeUnixNanoSec: ALL.startTimeUnixNanoSec, endTimeUnixNanoSec: rootStart }, filters: [], sort: START_ASC });
    assert.deepStrictEqual(names(body.spans), ['raw root', 'raw child', 'cron tick', 'GET /checkout']);
    body = await searchOk({ timeframe: { startTimeUnixNanoSec: rootStart + 1n, endTimeUnixNanoSec: SN + 223456781n }, filters: [], sort: START_ASC });
    assert.deepStrictEqual(names(body.spans), ['call backend']);
  });

  const T1_NAMES = ['GET /checkout', 'call backend', 'POST /charge', 'db.query', 'publish charge', 'consume charge', 'render'];
  const ALL_NAMES = [...T1_NAMES, 'cron tick', 'raw root', 'raw child'];
  const without = (...xs) => ALL_NAMES.filter((n) => !xs.includes(n));
  const FRONTEND = ['GET /checkout', 'call backend', 'render'];
  const BACKEND = ['POST /charge', 'db.query', 'publish charge'];

  // [description, filters, expected span names]; the trace-id filters are built lazily.
  const cases = () => [
    ['intrinsic span.name equals', [f('span.name', 'equals', 'POST /charge')], ['POST /charge']],
    ['intrinsic span.name not_equals', [f('span.name', 'not_equals', 'POST /charge')], without('POST /charge')],
    ['intrinsic span.name contains', [f('span.name', 'contains', 'charge')], ['POST /charge', 'publish charge', 'consume charge']],
    ['intrinsic span.name not_contains', [f('span.name', 'not_contains', 'charge')], without('POST /charge', 'publish charge', 'consume charge')],
    ['intrinsic span.kind equals', [f('span.kind', 'equals', 'Server')], ['GET /checkout', 'POST /charge']],
    ['intrinsic span.kind in', [f('span.kind', 'in', ['Producer', 'Consumer'])], ['publish charge', 'consume charge']],
    ['intrinsic span.kind not_in', [f('span.kind', 'not_in', ['Internal', 'Server', 'Unspecified'])], ['call backend', 'publish charge', 'consume charge']],
    ['intrinsic span.kind Unspecified', [f('span.kind', 'equals', 'Unspecified')], ['raw root']],
    ['intrinsic span.status.code equals', [f('span.status.code', 'equals', 'Error')], ['call backend', 'db.query']],
    ['intrinsic span.status.code Ok', [f('span.status.code', 'equals', 'Ok')], ['render', 'raw root']],
    ['intrinsic span.status.message', [f('span.status.message', 'equals', 'card declined')], ['db.query']],
    ['intrinsic span.traceId equals', [f('span.traceId', 'equals', ids.T2)], ['cron tick']],
    ['intrinsic span.traceId in', [f('span.traceId', 'in', [ids.T2, ids.T3])], ['cron tick', 'raw root', 'raw child']],
    ['intrinsic span.spanId equals', [f('span.spanId', 'equals', byName.get('render'))], ['render']],
    ['intrinsic span.parentSpanId equals root', [f('span.parentSpanId', 'equals', byName.get('GET /checkout'))], ['call backend', 'render']],
    ['intrinsic span.parentSpanId empty (roots)', [f('span.parentSpanId', 'equals', '')], ['GET /checkout', 'cron tick', 'raw root']],
    ['intrinsic span.traceState', [f('span.traceState', 'equals', 'vendor=a')], ['raw root']],
    ['intrinsic duration gte', [f('externalFields.durationNano', 'gte', 1_453_086_430)], ['GET /checkout', 'call backend', 'POST /charge', 'raw root']],
    ['intrinsic duration gt', [f('externalFields.durationNano', 'gt', 1_453_086_430)], ['GET /checkout', 'call backend', 'raw root']],
    ['intrinsic duration lt', [f('externalFields.durationNano', 'lt', 500_000_002)], ['publish charge', 'raw child']],
    ['intrinsic duration lte', [f('externalFields.durationNano', 'lte', 500_000_002)], ['publish charge', 'raw child', 'db.query']],
    ['intrinsic start time gte', [f('span.startTimeUnixNano', 'gte', SN + 1_900_000_001n)], ['render']],
    ['intrinsic scope.name', [f('scope.name', 'equals', 'it-backend')], BACKEND],
    ['intrinsic scope.version', [f('scope.version', 'equals', '3.0.0')], ['cron tick', 'consume charge']],
    ['intrinsic span.events.name', [f('span.events.name', 'equals', 'cache.miss')], ['GET /checkout']],
    ['intrinsic span.links.traceId', [f('span.links.traceId', 'equals', ids.T2)], ['GET /checkout']],
    ['intrinsic span.links.spanId', [f('span.links.spanId', 'equals', byName.get('GET /checkout'))], ['raw root']],
    ['resource equals', [f('resource.attributes.service.name', 'equals', 'backend')], BACKEND],
    ['resource not_equals', [f('resource.attributes.service.name', 'not_equals', 'frontend')], without(...FRONTEND)],
    ['resource in', [f('resource.attributes.service.name', 'in', ['worker', 'raw-json-svc'])], ['cron tick', 'consume charge', 'raw root', 'raw child']],
    ['resource not_in', [f('resource.attributes.service.name', 'not_in', ['worker', 'raw-json-svc', 'backend'])], FRONTEND],
    ['resource contains', [f('resource.attributes.service.name', 'contains', 'end')], [...FRONTEND, ...BACKEND]],
    ['resource int gt', [f('resource.attributes.host.cores', 'gt', 4)], FRONTEND],
    ['resource int lte', [f('resource.attributes.host.cores', 'lte', 2)], BACKEND],
    ['resource exists', [f('resource.attributes.host.cores', 'exists')], [...FRONTEND, ...BACKEND]],
    ['resource not_exists', [f('resource.attributes.host.cores', 'not_exists')], ['cron tick', 'consume charge', 'raw root', 'raw child']],
    ['resource double', [f('resource.attributes.res.ratio', 'gte', 0.75)], FRONTEND],
    ['resource bool', [f('resource.attributes.res.canary', 'equals', true)], FRONTEND],
    ['scope attribute equals', [f('scope.attributes.scope.team', 'equals', 'raw')], ['raw root', 'raw child']],
    ['scope attribute not_exists', [f('scope.attributes.scope.team', 'not_exists')], without('raw root', 'raw child')],
    ['span attribute int equals', [f('span.attributes.http.status_code', 'equals', 200)], ['GET /checkout']],
    ['span attribute int gte', [f('span.attributes.http.status_code', 'gte', 500)], ['call backend', 'POST /charge']],
    ['span attribute int in', [f('span.attributes.http.status_code', 'in', [200, 404])], ['GET /checkout']],
    ['span attribute int zero', [f('span.attributes.db.rows', 'equals', 0)], ['db.query']],
    ['span attribute negative lt', [f('span.attributes.it.negative', 'lt', 0)], ['GET /checkout']],
    ['span attribute int64 beyond 2^53', [f('span.attributes.big.int', 'gt', 9007199254740992n)], ['raw root']],
    ['span attribute double gt', [f('span.attributes.it.double', 'gt', 3.14)], ['GET /checkout']],
    ['span attribute double lt', [f('span.attributes.it.double', 'lt', 3.14)], []],
    ['span attribute bool', [f('span.attributes.it.bool', 'equals', true)], ['GET /checkout']],
    ['span attribute bool false', [f('span.attributes.it.false', 'equals', false)], ['GET /checkout']],
    ['span attribute contains', [f('span.attributes.http.method', 'contains', 'OS')], ['call backend', 'POST /charge']],
    ['span attribute not_contains (includes spans without the key)', [f('span.attributes.http.method', 'not_contains', 'OS')], without('call backend', 'POST /charge')],
    ['span attribute not_equals (includes spans without the key)', [f('span.attributes.http.method', 'not_equals', 'POST')], without('call backend', 'POST /charge')],
    ['span attribute exists', [f('span.attributes.messaging.system', 'exists')], ['publish charge', 'consume charge']],
    ['span attribute not_exists', [f('span.attributes.http.method', 'not_exists')], without('GET /checkout', 'call backend', 'POST /charge')],
    ['span attribute with dots in key, unicode value', [f('span.attributes.it.unicode', 'equals', 'héllo ✓ 日本 "quoted" \\ back')], ['GET /checkout']],
    ['span attribute empty string', [f('span.attributes.it.empty', 'equals', '')], ['GET /checkout']],
    ['event attribute equals', [f('span.events.attributes.ev.int', 'equals', 7)], ['GET /checkout']],
    ['event attribute exists', [f('span.events.attributes.exception.type', 'exists')], ['db.query']],
    ['event attribute not_exists', [f('span.events.attributes.exception.type', 'not_exists')], without('db.query')],
    ['event attribute contains', [f('span.events.attributes.exception.message', 'contains', 'funds')], ['db.query']],
    ['link attribute equals', [f('span.links.attributes.link.kind', 'equals', 'follows')], ['GET /checkout']],
    ['link attribute in', [f('span.links.attributes.link.kind', 'in', ['follows', 'raw'])], ['GET /checkout', 'raw root']],
    ['link attribute gte', [f('span.links.attributes.link.weight', 'gte', 2)], ['GET /checkout']],
    ['link attribute not_exists', [f('span.links.attributes.link.kind', 'not_exists')], without('GET /checkout', 'raw root')],
    ['ANDed filters', [f('resource.attributes.service.name', 'equals', 'backend'), f('span.kind', 'equals', 'Internal')], ['db.query']],
    ['ANDed filters, no match', [f('resource.attributes.service.name', 'equals', 'backend'), f('span.kind', 'equals', 'Client')], []],
  ];

  it('filters on every key level with exact rows', async () => {
    const failures = [];
    for (const [desc, filters, want] of cases()) {
      const res = await api.search({ timeframe: ALL, filters, sort: START_ASC, pageSize: 100 });
      if (res.status !== 200) {
        failures.push(`${desc}: status ${res.status} ${res.text}`);
        continue;
      }
      const got = sortedNames(res.json.spans);
      const exp = [...want].sort();
      if (JSON.stringify(got) !== JSON.stringify(exp)) {
        failures.push(`${desc}: ${stringifyJson(filters)}\n    expected ${JSON.stringify(exp)}\n    got      ${JSON.stringify(got)}`);
      }
    }
    assert.deepStrictEqual(failures, []);
  });

  for (const [field, label] of [
    ['span.startTimeUnixNano', 'start'],
    ['externalFields.durationNano', 'duration'],
  ]) {
    for (const ascending of [true, false]) {
      it(`sorts by ${label} ${ascending ? 'ascending' : 'descending'}`, async () => {
        const body = await searchOk({ timeframe: ALL, filters: [], sort: [{ field, ascending }] });
        assert.deepStrictEqual(names(body.spans), expectedSorted(label, ascending));
      });

      it(`pages by ${label} ${ascending ? 'ascending' : 'descending'} until metadata is null`, async () => {
        const { pages, spans } = await api.searchAll({ timeframe: ALL, filters: [], sort: [{ field, ascending }], pageSize: 3 });
        assert.deepStrictEqual(pages.map((p) => p.length), [3, 3, 3, 1]);
        const keys = spans.map((s) => s.span.spanId);
        assert.equal(new Set(keys).size, 10, 'no span repeated');
        assert.deepStrictEqual(new Set(keys), new Set(expected.keys()));
        assert.deepStrictEqual(names(spans), expectedSorted(label, ascending));
      });
    }
  }

  it('pages with filters', async () => {
    const { pages, spans } = await api.searchAll({
      timeframe: ALL,
      filters: [f('span.traceId', 'equals', ids.T1)],
      sort: START_ASC,
      pageSize: 2,
    });
    assert.deepStrictEqual(pages.map((p) => p.length), [2, 2, 2, 1]);
    assert.deepStrictEqual(names(spans), T1_NAMES);
  });
});

describe('GET /v1/tags', () => {
  const EXPECTED_TAGS = [
    ['resource.attributes.service.name', 'Str'],
    ['resource.attributes.host.cores', 'Int'],
    ['resource.attributes.res.ratio', 'Double'],
    ['resource.attributes.res.canary', 'Bool'],
    ['resource.attributes.res.kv', 'Map'],
    ['scope.attributes.scope.team', 'Str'],
    ['span.attributes.http.method', 'Str'],
    ['span.attributes.http.status_code', 'Int'],
    ['span.attributes.it.double', 'Double'],
    ['span.attributes.it.bool', 'Bool'],
    ['span.attributes.it.str_array', 'Slice'],
    ['span.attributes.it.int_array', 'Slice'],
    ['span.attributes.it.double_array', 'Slice'],
    ['span.attributes.it.bool_array', 'Slice'],
    ['span.attributes.kv', 'Map'],
    ['span.attributes.big.int', 'Int'],
    ['span.attributes.raw.bytes', 'Bytes'],
    ['span.attributes.mixed.arr', 'Slice'],
    ['span.attributes.cron.schedule', 'Str'],
    ['span.events.attributes.ev.int', 'Int'],
    ['span.events.attributes.ev.double', 'Double'],
    ['span.events.attributes.exception.type', 'Str'],
    ['span.links.attributes.link.kind', 'Str'],
    ['span.links.attributes.link.weight', 'Int'],
  ];

  it('lists the attribute keys sent, with their types, no duplicates', async () => {
    const res = await api.tags();
    assert.equal(res.status, 200, res.text);
    const tags = res.json.Tags;
    assert.ok(Array.isArray(tags), 'Tags (capital T) is an array');
    const have = new Map(tags.map((t) => [t.name, t.type]));
    const missing = EXPECTED_TAGS.filter(([n, t]) => have.get(n) !== t).map(([n, t]) => `${n}:${t} (got ${have.get(n)})`);
    assert.deepStrictEqual(missing, []);
    const pairs = tags.map((t) => `${t.name}:${t.type}`);
    assert.equal(new Set(pairs).size, pairs.length, 'no duplicate tags');
  });

  it('scopes tag keys to a timeframe', async () => {
    const res = await api.tags({ startTimeUnixNanoSec: SN, endTimeUnixNanoSec: 0n });
    assert.equal(res.status, 200, res.text);
    const have = new Set(res.json.Tags.map((t) => t.name));
    assert.ok(have.has('span.attributes.http.method'));
    assert.ok(have.has('span.links.attributes.link.kind'));
    assert.ok(!have.has('span.attributes.cron.schedule'), 'T2 key is outside the timeframe');
    assert.ok(!have.has('span.attributes.big.int'), 'T3 key is outside the timeframe');
    assert.ok(!have.has('scope.attributes.scope.team'), 'T3 key is outside the timeframe');
  });
});

describe('POST /v1/tags/:tag', () => {
  it('counts values sorted by count then value', async () => {
    const res = await api.tagValues('resource.attributes.service.name', { timeframe: ALL, filters: [] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.metadata, null);
    assert.deepStrictEqual(res.json.values, [
      { value: 'backend', count: 3 },
      { value: 'frontend', count: 3 },
      { value: 'raw-json-svc', count: 2 },
      { value: 'worker', count: 2 },
    ]);
  });

  it('honours limit and reports the total distinct count', async () => {
    const res = await api.tagValues('resource.attributes.service.name', { timeframe: ALL, filters: [], limit: 2 });
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.json.values, [
      { value: 'backend', count: 3 },
      { value: 'frontend', count: 3 },
    ]);
    assert.equal(res.json.totalDistinctValues, 4);
  });

  it('works without a timeframe and with filters, keeping value types', async () => {
    let res = await api.tagValues('span.attributes.http.status_code', { filters: [] });
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.json.values, [
      { value: 500, count: 2 },
      { value: 200, count: 1 },
    ]);
    res = await api.tagValues('span.attributes.http.status_code', {
      timeframe: ALL,
      filters: [f('resource.attributes.service.name', 'equals', 'backend')],
    });
    assert.deepStrictEqual(res.json.values, [{ value: 500, count: 1 }]);
    res = await api.tagValues('span.attributes.it.bool', { timeframe: ALL, filters: [] });
    assert.deepStrictEqual(res.json.values, [{ value: true, count: 1 }]);
    res = await api.tagValues('span.attributes.it.double', { timeframe: ALL, filters: [] });
    assert.deepStrictEqual(res.json.values, [{ value: 3.141592653589793, count: 1 }]);
    res = await api.tagValues('span.events.attributes.ev.int', { timeframe: ALL, filters: [] });
    assert.deepStrictEqual(res.json.values, [
      { value: 7, count: 1 },
      { value: 8, count: 1 },
    ]);
  });

  it('counts intrinsic values', async () => {
    const res = await api.tagValues('span.kind', { timeframe: ALL, filters: [] });
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.json.values, [
      { value: 'Internal', count: 4 },
      { value: 'Server', count: 2 },
      { value: 'Client', count: 1 },
      { value: 'Consumer', count: 1 },
      { value: 'Producer', count: 1 },
      { value: 'Unspecified', count: 1 },
    ]);
  });
});

describe('POST /v1/tags/:tag/statistics', () => {
  const durations = () => [...expected.values()].map((e) => Number(e.externalFields.durationNano));

  it('gives exact min, max, count and avg of durationNano', async () => {
    const res = await api.statistics('externalFields.durationNano', {
      timeframe: ALL,
      filters: [],
      desiredStatistics: ['min', 'max', 'avg', 'count'],
    });
    assert.equal(res.status, 200, res.text);
    const st = res.json.statistics;
    const d = durations();
    assert.equal(st.min, Math.min(...d));
    assert.equal(st.min, 100_000_004);
    assert.equal(st.max, 2_864_197_532);
    assert.equal(st.count, 10);
    const avg = d.reduce((a, b) => a + b, 0) / d.length;
    assert.ok(Math.abs(st.avg - avg) <= 1e-6 * avg, `avg ${st.avg} vs ${avg}`);
  });

  it('applies filters', async () => {
    const res = await api.statistics('externalFields.durationNano', {
      timeframe: ALL,
      filters: [f('resource.attributes.service.name', 'equals', 'backend')],
      desiredStatistics: ['min', 'max'],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.json.statistics, { min: 100_000_004, max: 1_453_086_430 });
  });

  it('works on a numeric attribute', async () => {
    const res = await api.statistics('span.attributes.http.status_code', {
      timeframe: ALL,
      filters: [],
      desiredStatistics: ['min', 'max'],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.json.statistics, { min: 200, max: 500 });
  });
});

describe('POST /v1/histograms', () => {
  const MINUTE = 60n * NS;

  it('counts spans per start-time bucket exactly', async () => {
    const res = await api.histograms({
      timeframe: ALL,
      filters: [],
      interval: MINUTE,
      intervalKey: 'span.startTimeUnixNano',
      aggregations: {
        spans: { func: 'COUNT' },
        traces: { func: 'DISTINCT_COUNT', key: 'span.traceId' },
        byService: { func: 'COUNT', groupBy: 'resource.attributes.service.name' },
      },
    });
    assert.equal(res.status, 200, res.text);
    const h = Object.fromEntries(res.json.histograms.map((x) => [x.histogramLabel, x.buckets]));
    assert.deepStrictEqual(Object.keys(h).sort(), ['byService', 'spans', 'traces']);
    const keyed = (buckets) => buckets.map((b) => [big(b.bucketKey), b.data]);
    assert.deepStrictEqual(keyed(h.spans), [
      [SN - 3n * MINUTE, 2],
      [SN - MINUTE, 1],
      [SN, 7],
    ]);
    const total = h.spans.reduce((a, b) => a + b.data, 0);
    assert.equal(total, 10);
    assert.deepStrictEqual(keyed(h.traces), [
      [SN - 3n * MINUTE, 1],
      [SN - MINUTE, 1],
      [SN, 1],
    ]);
    const grouped = h.byService.map((b) => [
      big(b.bucketKey),
      b.data.totalCount,
      [...b.data.subBuckets].map((s) => `${s.key}=${s.count}`).sort(),
    ]);
    assert.deepStrictEqual(grouped, [
      [SN - 3n * MINUTE, 2, ['raw-json-svc=2']],
      [SN - MINUTE, 1, ['worker=1']],
      [SN, 7, ['backend=3', 'frontend=3', 'worker=1']],
    ]);
  });

  it('applies filters to histograms', async () => {
    const res = await api.histograms({
      timeframe: ALL,
      filters: [f('span.kind', 'equals', 'Internal')],
      interval: MINUTE,
      intervalKey: 'span.startTimeUnixNano',
      aggregations: { n: { func: 'COUNT' } },
    });
    assert.equal(res.status, 200, res.text);
    const buckets = res.json.histograms[0].buckets.map((b) => [big(b.bucketKey), b.data]);
    assert.deepStrictEqual(buckets, [
      [SN - 3n * MINUTE, 1],
      [SN - MINUTE, 1],
      [SN, 2],
    ]);
  });
});

describe('shutdown', () => {
  it('exits 0 on SIGTERM', async () => {
    await Promise.allSettled(services.map((s) => s.shutdown()));
    services = [];
    const { code, signal } = await srv.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, srv.logTail());
    srv = null;
  });
});
