// Tempo's query API on the real binary: traces sent through the OpenTelemetry JS SDK are found with
// TraceQL (q=) and tags= searches, listed by the tags endpoints and fetched as OTLP protobuf, with
// exact counts and fields, as Grafana's Tempo data source asks for them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { httpRequest } from './lib/api.mjs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, makeService, trace } from './lib/otel.mjs';
import { readFields } from './lib/otlp.mjs';
import { startServer } from './lib/server.mjs';

let srv;
const ids = {};
const startSec = Math.floor(Date.now() / 1000) - 60;

function get(pathAndQuery, headers = {}) {
  return httpRequest('GET', `${srv.apiUrl}${pathAndQuery}`, { headers });
}

async function getJson(pathAndQuery) {
  const res = await get(pathAndQuery);
  assert.equal(res.status, 200, `${pathAndQuery}: ${res.text}`);
  assert.match(res.contentType, /^application\/json/);
  return JSON.parse(res.text);
}

function range() {
  return `start=${startSec}&end=${Math.floor(Date.now() / 1000) + 60}`;
}

async function search(params) {
  return getJson(`/api/search?${range()}&${params}`);
}

// Trace "checkout": it-frontend "GET /checkout" (server, http.method=GET) -> it-backend "charge"
// (client, error, payment.amount=42). Trace "cleanup" (sent later): it-backend "cleanup" alone.
async function sendTraces() {
  const frontend = makeService('grpc', srv, { 'service.name': 'it-frontend' });
  const backend = makeService('proto', srv, { 'service.name': 'it-backend', 'deployment.environment': 'it' });
  const root = frontend.tracer('shop').startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': 'GET' },
  }, ROOT_CONTEXT);
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const charge = backend.tracer('pay').startSpan('charge', {
    kind: SpanKind.CLIENT,
    attributes: { 'payment.amount': 42 },
  }, ctx);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
  charge.end();
  root.end();
  ids.checkout = root.spanContext().traceId;
  await sleep(20);
  const cleanup = backend.tracer('pay').startSpan('cleanup', { kind: SpanKind.INTERNAL }, ROOT_CONTEXT);
  cleanup.end();
  ids.cleanup = cleanup.spanContext().traceId;
  await frontend.flush();
  await backend.flush();
  await frontend.shutdown();
  await backend.shutdown();
}

// Tempo writes trace ids in search results without leading zeros.
function tempoId(hex) {
  return hex.replace(/^0+/, '') || '0';
}

before(async () => {
  srv = await startServer();
  await sendTraces();
  // Wait until both traces are searchable.
  for (let i = 0; i < 100; i++) {
    const body = await search('q=%7B%7D');
    if (body.traces.length === 2 && body.traces.every((t) => t.spanSets[0].matched >= 1)) break;
    await sleep(100);
  }
});

after(async () => {
  await srv?.stop();
});

describe('tempo api', () => {
  it('answers echo and ready', async () => {
    const echo = await get('/api/echo');
    assert.equal(echo.status, 200);
    assert.equal(echo.text, 'echo');
    const ready = await get('/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ready');
  });

  it('searches with TraceQL', async () => {
    const all = await search('q=%7B%7D');
    assert.deepEqual(all.traces.map((t) => t.traceID), [tempoId(ids.cleanup), tempoId(ids.checkout)]);

    const q = encodeURIComponent('{ resource.service.name = "it-backend" && status = error }');
    const body = await search(`q=${q}`);
    assert.equal(body.traces.length, 1);
    const t = body.traces[0];
    assert.equal(t.traceID, tempoId(ids.checkout));
    assert.equal(t.rootServiceName, 'it-frontend');
    assert.equal(t.rootTraceName, 'GET /checkout');
    assert.equal(typeof t.startTimeUnixNano, 'string');
    assert.equal(t.spanSets.length, 1);
    assert.equal(t.spanSets[0].matched, 1);
    assert.deepEqual(t.spanSet, t.spanSets[0]);
    const span = t.spanSets[0].spans[0];
    assert.equal(span.name, 'charge');
    assert.equal(span.spanID.length, 16);
    assert.deepEqual(span.attributes, [
      { key: 'service.name', value: { stringValue: 'it-backend' } },
      { key: 'status', value: { stringValue: 'error' } },
    ]);

    const both = encodeURIComponent('{ kind = server } && { span.payment.amount = 42 }');
    assert.deepEqual((await search(`q=${both}`)).traces.map((t) => t.traceID), [tempoId(ids.checkout)]);
    const none = encodeURIComponent('{ kind = consumer } || { name = "nope" }');
    assert.deepEqual((await search(`q=${none}`)).traces, []);
  });

  it('searches with tags', async () => {
    const backend = await search('tags=service.name%3Dit-backend');
    assert.deepEqual(backend.traces.map((t) => t.traceID), [tempoId(ids.cleanup), tempoId(ids.checkout)]);
    const amount = await search('tags=payment.amount%3D42');
    assert.deepEqual(amount.traces.map((t) => t.traceID), [tempoId(ids.checkout)]);
    const limited = await search('tags=service.name%3Dit-backend&limit=1');
    assert.deepEqual(limited.traces.map((t) => t.traceID), [tempoId(ids.cleanup)]);
  });

  it('refuses unsupported TraceQL with 400', async () => {
    const res = await get(`/api/search?q=${encodeURIComponent('{ .a = 1 } >> { .b = 2 }')}`);
    assert.equal(res.status, 400);
    assert.equal(res.text, 'invalid TraceQL query: col 12: structural operator ">>" is not supported');
  });

  it('lists tags and tag values', async () => {
    const v1 = await getJson('/api/search/tags');
    assert.deepEqual(v1.tagNames, ['deployment.environment', 'http.method', 'payment.amount', 'service.name']);
    const v2 = await getJson('/api/v2/search/tags?scope=span');
    assert.deepEqual(v2, { scopes: [{ name: 'span', tags: ['http.method', 'payment.amount'] }] });
    assert.deepEqual(await getJson('/api/v2/search/tag/resource.service.name/values'), {
      tagValues: [{ type: 'string', value: 'it-backend' }, { type: 'string', value: 'it-frontend' }],
    });
    assert.deepEqual(await getJson('/api/search/tag/http.method/values'), { tagValues: ['GET'] });
    assert.deepEqual(await getJson('/api/v2/search/tag/span.payment.amount/values'), {
      tagValues: [{ type: 'int', value: '42' }],
    });
  });

  it('returns a trace as OTLP protobuf', async () => {
    const countSpans = (traceBytes) => {
      const names = [];
      for (const rs of readFields(traceBytes)) {
        assert.equal(rs.field, 1);
        for (const ss of readFields(rs.value).filter((f) => f.field === 2)) {
          for (const sp of readFields(ss.value).filter((f) => f.field === 2)) {
            const f = readFields(sp.value);
            assert.equal(f.find((x) => x.field === 1).value.toString('hex'), ids.checkout);
            names.push(f.find((x) => x.field === 5).value.toString('utf8'));
          }
        }
      }
      return names.sort();
    };
    const v1 = await get(`/api/traces/${ids.checkout}`, { accept: 'application/protobuf' });
    assert.equal(v1.status, 200);
    assert.equal(v1.contentType, 'application/protobuf');
    assert.equal(readFields(v1.buf).length, 2);  // one ResourceSpans per service
    assert.deepEqual(countSpans(v1.buf), ['GET /checkout', 'charge']);

    const v2 = await get(`/api/v2/traces/${ids.checkout}`, { accept: 'application/protobuf' });
    assert.equal(v2.status, 200);
    const outer = readFields(v2.buf);
    assert.equal(outer.length, 1);
    assert.equal(outer[0].field, 1);
    assert.deepEqual(countSpans(outer[0].value), ['GET /checkout', 'charge']);

    const missing = await get(`/api/v2/traces/${'ab'.repeat(16)}`, { accept: 'application/protobuf' });
    assert.equal(missing.status, 404);
    // Without protobuf in Accept, /api/traces/{id} is Jaeger's.
    const jaeger = await get(`/api/traces/${ids.checkout}`);
    assert.equal(jaeger.status, 200);
    assert.equal(JSON.parse(jaeger.text).data[0].spans.length, 2);
  });
});
