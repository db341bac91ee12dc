// Bad input: every malformed request gets the exact status and message, valid spans in a mixed
// request are kept, and afterwards the server is healthy with earlier data intact.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';

import { ALL_TIME, Api, countAllSpans } from './lib/api.mjs';
import { RawTraceClient, grpc } from './lib/grpc.mjs';
import {
  decodeExportResponse,
  encodeExportRequest,
  jsonExportRequest,
  newSpanId,
  newTraceId,
  otlpErrorMessage,
  otlpPartialSuccess,
  postTraces,
  simpleTrace,
  stringifyJson,
} from './lib/otlp.mjs';
import { startServer } from './lib/server.mjs';

const MAX_REQUEST_BYTES = 1 << 20;
const PROTO = 'application/x-protobuf';
const JSON_CT = 'application/json';

let srv;
let api;
let grpcClient;
let seed; // the trace stored before any bad input
let seedTraceBefore; // its JSON as read back then
let storedSpans = 0; // spans the server acknowledged so far

async function post(body, opts) {
  return postTraces(srv.otlpTracesUrl, body, opts);
}

function assertNoRejection(res) {
  const ps = otlpPartialSuccess(res);
  assert.ok(ps === null || ps.rejectedSpans === 0n, `unexpected partial success: ${ps?.errorMessage}`);
}

function assertOtlpError(res, status, prefix) {
  const message = otlpErrorMessage(res);
  assert.equal(res.status, status, `status (message: ${message})`);
  if (prefix !== undefined) {
    assert.ok(message.startsWith(prefix), `message ${JSON.stringify(message)} starts with ${JSON.stringify(prefix)}`);
  }
}

// A request with one span whose fields are overridden by `patch`, as protobuf or JSON.
function oneSpan(patch, { json = false } = {}) {
  const t = simpleTrace({ count: 1, service: 'it-bad' });
  Object.assign(t.resourceSpans[0].scopes[0].spans[0], patch);
  return json ? stringifyJson(jsonExportRequest(t.resourceSpans)) : encodeExportRequest(t.resourceSpans);
}

async function traceSpanIds(traceId) {
  const res = await api.trace(traceId);
  assert.equal(res.status, 200, res.text);
  return res.json.spans.map((s) => s.span.spanId).sort();
}

before(async () => {
  srv = await startServer({ extraArgs: [`--ingest.max_request_bytes=${MAX_REQUEST_BYTES}`] });
  api = new Api(srv.apiUrl);
  grpcClient = new RawTraceClient(srv.grpcUrl);
  seed = simpleTrace({ count: 5, service: 'it-seed' });
  const res = await post(encodeExportRequest(seed.resourceSpans));
  assert.equal(res.status, 200);
  assertNoRejection(res);
  storedSpans += 5;
  seedTraceBefore = (await api.trace(seed.traceId)).text;
  assert.equal(await countAllSpans(api), 5);
});

after(async () => {
  grpcClient?.close();
  if (srv) await srv.stop();
});

describe('OTLP/HTTP rejects malformed requests', () => {
  it('wrong content type -> 415', async () => {
    const body = encodeExportRequest(simpleTrace({ count: 1 }).resourceSpans);
    for (const contentType of ['text/plain', 'application/xml', 'application/octet-stream']) {
      const res = await post(body, { contentType });
      assert.equal(res.status, 415, `content type ${contentType}`);
    }
  });

  it('garbage protobuf -> 400 invalid OTLP protobuf', async () => {
    const garbage = [
      Buffer.from([0x0f, 0x00, 0x01]), // wire type 7 does not exist
      Buffer.from('this is definitely not a protobuf message', 'utf8'),
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // length far beyond the body
    ];
    for (const body of garbage) {
      const res = await post(body, { contentType: PROTO });
      assertOtlpError(res, 400, 'invalid OTLP protobuf');
    }
  });

  it('truncated protobuf -> 400 invalid OTLP protobuf', async () => {
    const full = encodeExportRequest(simpleTrace({ count: 20 }).resourceSpans);
    for (const cut of [1, 2, Math.floor(full.length / 2), full.length - 1]) {
      const res = await post(full.subarray(0, cut), { contentType: PROTO });
      assertOtlpError(res, 400, 'invalid OTLP protobuf');
    }
  });

  it('invalid JSON -> 400 invalid OTLP JSON', async () => {
    for (const body of ['{"resourceSpans": [', 'not json at all', '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 12']) {
      const res = await post(body, { contentType: JSON_CT });
      assertOtlpError(res, 400, 'invalid OTLP JSON');
    }
  });

  it('JSON with base64 ids rejects those spans via partialSuccess and keeps the rest', async () => {
    const t = simpleTrace({ count: 2, service: 'it-b64' });
    const body = jsonExportRequest(t.resourceSpans);
    const bad = body.resourceSpans[0].scopeSpans[0].spans[1];
    bad.traceId = Buffer.from(t.traceId, 'hex').toString('base64'); // "...==" as a generic protobuf JSON encoder writes
    bad.spanId = Buffer.from(t.spanIds[1], 'hex').toString('base64');
    bad.parentSpanId = Buffer.from(t.spanIds[0], 'hex').toString('base64');
    const res = await post(stringifyJson(body), { contentType: JSON_CT });
    assert.equal(res.status, 200, res.body.toString());
    const ps = otlpPartialSuccess(res);
    assert.ok(ps, 'partialSuccess present');
    assert.equal(ps.rejectedSpans, 1n);
    assert.match(ps.errorMessage, /hex/);
    storedSpans += 1;
    assert.deepStrictEqual(await traceSpanIds(t.traceId), [t.spanIds[0]]);
  });

  it('oversized body -> 413', async () => {
    const body = oneSpan({ attributes: { big: 'x'.repeat(MAX_REQUEST_BYTES + 1024) } });
    assert.ok(body.length > MAX_REQUEST_BYTES);
    let res = await post(body, { contentType: PROTO });
    assert.equal(res.status, 413);
    res = await post(body, { contentType: PROTO, chunks: 8 });
    assert.equal(res.status, 413, 'chunked oversized body');
  });

  it('gzip body that inflates beyond the limit -> 413', async () => {
    const body = oneSpan({ attributes: { big: 'x'.repeat(2 * MAX_REQUEST_BYTES) } });
    const res = await post(body, { contentType: PROTO, gzip: true });
    assert.ok(gzipSync(body).length < MAX_REQUEST_BYTES / 10, 'the compressed request is small');
    assert.equal(res.status, 413);
  });

  it('bad gzip -> 400 invalid gzip body', async () => {
    const valid = encodeExportRequest(simpleTrace({ count: 3 }).resourceSpans);
    const zipped = gzipSync(valid);
    const bodies = [valid, Buffer.from('definitely not gzip'), zipped.subarray(0, zipped.length - 12)];
    for (const body of bodies) {
      const res = await post(body, { contentType: PROTO, headers: { 'content-encoding': 'gzip' } });
      assertOtlpError(res, 400, 'invalid gzip body');
    }
  });

  it('zero trace id -> 200 with partialSuccess (protobuf and JSON)', async () => {
    const zeros = '0'.repeat(32);
    let res = await post(oneSpan({ traceId: zeros }), { contentType: PROTO });
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/x-protobuf/);
    let ps = decodeExportResponse(res.body).partialSuccess;
    assert.equal(ps?.rejectedSpans, 1n);
    assert.match(ps.errorMessage, /trace id is all zeros/);

    res = await post(oneSpan({ traceId: zeros }, { json: true }), { contentType: JSON_CT });
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/json/);
    ps = otlpPartialSuccess(res);
    assert.equal(ps?.rejectedSpans, 1n);
    assert.match(ps.errorMessage, /trace id is all zeros/);
  });

  it('zero span id and end before start are rejected per span', async () => {
    let res = await post(oneSpan({ spanId: '0'.repeat(16) }), { contentType: PROTO });
    assert.equal(res.status, 200);
    let ps = otlpPartialSuccess(res);
    assert.equal(ps?.rejectedSpans, 1n);
    assert.match(ps.errorMessage, /span id is all zeros/);

    const t = simpleTrace({ count: 3, service: 'it-mixed' });
    const bad = t.resourceSpans[0].scopes[0].spans[2];
    bad.end = bad.start - 1n;
    res = await post(encodeExportRequest(t.resourceSpans), { contentType: PROTO });
    assert.equal(res.status, 200);
    ps = otlpPartialSuccess(res);
    assert.equal(ps?.rejectedSpans, 1n);
    assert.ok(ps.errorMessage.length > 0, 'a message says why');
    storedSpans += 2;
    assert.deepStrictEqual(await traceSpanIds(t.traceId), t.spanIds.slice(0, 2).sort());
  });

  it('wrong id lengths are rejected per span', async () => {
    const res = await post(oneSpan({ traceId: 'abcd' }, { json: true }), { contentType: JSON_CT });
    assert.equal(res.status, 200);
    const ps = otlpPartialSuccess(res);
    assert.equal(ps?.rejectedSpans, 1n);
  });
});

describe('OTLP/HTTP accepts chunked, gzip and empty bodies', () => {
  it('chunked protobuf body (Transfer-Encoding: chunked) is accepted', async () => {
    const t = simpleTrace({ count: 50, service: 'it-chunked' });
    const res = await post(encodeExportRequest(t.resourceSpans), { contentType: PROTO, chunks: 7 });
    assert.equal(res.status, 200);
    assertNoRejection(res);
    storedSpans += 50;
    assert.deepStrictEqual(await traceSpanIds(t.traceId), [...t.spanIds].sort());
  });

  it('gzip protobuf and gzip JSON bodies are accepted (JSON also chunked)', async () => {
    const a = simpleTrace({ count: 10, service: 'it-gzip' });
    let res = await post(encodeExportRequest(a.resourceSpans), { contentType: PROTO, gzip: true });
    assert.equal(res.status, 200);
    assertNoRejection(res);
    const b = simpleTrace({ count: 10, service: 'it-gzip-json' });
    res = await post(stringifyJson(jsonExportRequest(b.resourceSpans)), { contentType: JSON_CT, gzip: true, chunks: 3 });
    assert.equal(res.status, 200);
    assertNoRejection(res);
    storedSpans += 20;
    assert.deepStrictEqual(await traceSpanIds(a.traceId), [...a.spanIds].sort());
    assert.deepStrictEqual(await traceSpanIds(b.traceId), [...b.spanIds].sort());
  });

  it('an empty request is a successful no-op', async () => {
    let res = await post(Buffer.alloc(0), { contentType: PROTO });
    assert.equal(res.status, 200);
    assertNoRejection(res);
    res = await post('{}', { contentType: JSON_CT });
    assert.equal(res.status, 200);
    assertNoRejection(res);
  });
});

describe('OTLP/gRPC rejects malformed requests', () => {
  it('garbage -> INVALID_ARGUMENT invalid OTLP protobuf', async () => {
    const { err } = await grpcClient.export(Buffer.from([0x0f, 0x00, 0x01]));
    assert.ok(err, 'call fails');
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
    assert.ok(err.details.startsWith('invalid OTLP protobuf'), err.details);
  });

  it('truncated -> INVALID_ARGUMENT invalid OTLP protobuf', async () => {
    const full = encodeExportRequest(simpleTrace({ count: 5 }).resourceSpans);
    const { err } = await grpcClient.export(full.subarray(0, full.length - 3));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, err?.details);
    assert.ok(err.details.startsWith('invalid OTLP protobuf'), err.details);
  });

  it('zero trace id -> OK with partial_success', async () => {
    const { err, response } = await grpcClient.export(oneSpan({ traceId: '0'.repeat(32) }));
    assert.equal(err, null);
    const ps = decodeExportResponse(response).partialSuccess;
    assert.equal(ps?.rejectedSpans, 1n);
    assert.match(ps.errorMessage, /trace id is all zeros/);
  });

  it('oversized -> RESOURCE_EXHAUSTED', async () => {
    const { err } = await grpcClient.export(oneSpan({ attributes: { big: 'x'.repeat(MAX_REQUEST_BYTES + 1024) } }));
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED, err?.details);
  });

  it('a gzip-compressed valid request is accepted', async () => {
    const gz = new RawTraceClient(srv.grpcUrl, { gzip: true });
    try {
      const t = simpleTrace({ count: 4, service: 'it-grpc-gzip' });
      const { err, response } = await gz.export(encodeExportRequest(t.resourceSpans));
      assert.equal(err, null, err?.details);
      const ps = decodeExportResponse(response).partialSuccess;
      assert.ok(ps === null || ps.rejectedSpans === 0n);
      storedSpans += 4;
      assert.deepStrictEqual(await traceSpanIds(t.traceId), [...t.spanIds].sort());
    } finally {
      gz.close();
    }
  });
});

describe('v1 API rejects invalid queries with 400 and a message naming the field', () => {
  const TF = ALL_TIME;

  async function expect400(res, message, { prefix = false } = {}) {
    assert.equal(res.status, 400, res.text);
    assert.match(res.contentType, /^application\/json/);
    const msg = res.json?.errorMessage;
    assert.equal(typeof msg, 'string', `errorMessage in ${res.text}`);
    if (message !== undefined) {
      if (prefix) assert.ok(msg.startsWith(message), `${JSON.stringify(msg)} starts with ${JSON.stringify(message)}`);
      else assert.equal(msg, message);
    }
    return msg;
  }

  it('unknown operator', async () => {
    const res = await api.search({ timeframe: TF, filters: [{ keyValueFilter: { key: 'span.name', operator: 'foo', value: 'x' } }] });
    await expect400(
      res,
      'filters[0].operator: unknown operator "foo" (expected one of equals, not_equals, in, not_in, contains, not_contains, exists, not_exists, gt, gte, lt, lte)',
    );
  });

  it('operator that does not apply to the key type', async () => {
    const res = await api.search({ timeframe: TF, filters: [{ keyValueFilter: { key: 'span.name', operator: 'gt', value: 5 } }] });
    await expect400(res, 'filters[0].operator: operator "gt" does not apply to string key "span.name"');
  });

  it('malformed cursor', async () => {
    for (const nextToken of ['!!!not-a-cursor', 'AAAA', 'eyJzIjoxfQ']) {
      const res = await api.search({ timeframe: TF, filters: [], metadata: { nextToken } });
      await expect400(res, 'metadata.nextToken: invalid cursor', { prefix: true });
    }
  });

  it('cursor made for another sort', async () => {
    const first = await api.search({ timeframe: TF, filters: [], sort: [{ field: 'span.startTimeUnixNano', ascending: true }], pageSize: 1 });
    assert.equal(first.status, 200, first.text);
    const token = first.json.metadata?.nextToken;
    assert.equal(typeof token, 'string');
    const res = await api.search({ timeframe: TF, filters: [], sort: [{ field: 'externalFields.durationNano', ascending: false }], metadata: { nextToken: token }, pageSize: 1 });
    await expect400(res, 'metadata.nextToken: invalid cursor', { prefix: true });
  });

  it('end before start', async () => {
    const res = await api.search({ timeframe: { startTimeUnixNanoSec: 2000n, endTimeUnixNanoSec: 1000n }, filters: [] });
    await expect400(res, 'endTime cannot be smaller than startTime');
    const tags = await api.tagValues('span.name', { timeframe: { startTimeUnixNanoSec: 2000n, endTimeUnixNanoSec: 1000n }, filters: [] });
    await expect400(tags, 'endTime cannot be smaller than startTime');
  });

  it('unknown key, unknown sort field, bad statistic', async () => {
    let msg = await expect400(await api.search({ timeframe: TF, filters: [{ keyValueFilter: { key: 'nonsense', operator: 'equals', value: 'x' } }] }));
    assert.ok(msg.startsWith('filters[0]'), msg);
    msg = await expect400(await api.search({ timeframe: TF, filters: [], sort: [{ field: 'span.name', ascending: true }] }));
    assert.ok(msg.startsWith('sort[0]'), msg);
    msg = await expect400(await api.statistics('externalFields.durationNano', { timeframe: TF, filters: [], desiredStatistics: ['median-ish'] }));
    assert.ok(msg.startsWith('desiredStatistics[0]'), msg);
  });

  it('body that is not JSON', async () => {
    await expect400(await api.post('/v1/search', '{"timeframe": '));
  });

  it('bad trace id and bad trace cursor', async () => {
    await expect400(await api.trace('not-hex'));
    const msg = await expect400(await api.trace(seed.traceId, { pageSize: 2, nextToken: '###' }));
    assert.match(msg, /invalid cursor/);
  });

  it('unknown /v1 route -> 404 with errorMessage', async () => {
    const res = await api.get('/v1/no-such-endpoint');
    assert.equal(res.status, 404);
    assert.equal(typeof res.json?.errorMessage, 'string');
  });
});

describe('after all bad input', () => {
  it('the server is healthy and earlier data is intact', async () => {
    for (const p of ['/healthz', '/readyz', '/v1/ping']) {
      const res = await api.get(p);
      assert.equal(res.status, 200, p);
    }
    assert.equal((await api.trace(seed.traceId)).text, seedTraceBefore);
    assert.equal(await countAllSpans(api), storedSpans);
    const { code } = await srv.stop();
    assert.equal(code, 0, srv.logTail());
    srv = null;
  });
});
