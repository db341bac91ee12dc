// Large trace: a 50,000-span trace sent through the SDK (HTTP/protobuf, flushed every 2,000 spans
// so the BatchSpanProcessor never drops) is returned whole by /v1/trace/:id and, when asked, in
// pages of 5,000 that add up exactly, in (start time, span id) order, with ties on start time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ALL_TIME, Api } from './lib/api.mjs';
import { big } from './lib/json.mjs';
import { ROOT_CONTEXT, SpanKind, makeService, trace } from './lib/otel.mjs';
import { startServer } from './lib/server.mjs';

const SPANS = 50_000;
const FLUSH_EVERY = 2_000;
const PAGE = 5_000;
const TIE_GROUP = 10; // spans i and i+1 share a start time unless i+1 is a multiple of this

let srv;
let api;
let traceId;
const spanIds = new Set();
const startOf = new Map(); // spanId -> start nanos (BigInt)

before(async () => {
  srv = await startServer();
  api = new Api(srv.apiUrl);
  const svc = makeService('proto', srv, { 'service.name': 'it-large' }, { maxQueueSize: 4 * FLUSH_EVERY, record: false });
  const tracer = svc.tracer('it-large', '1.0.0');
  const baseSec = Math.floor(Date.now() / 1000) - 3600;
  const contexts = [];
  try {
    for (let i = 0; i < SPANS; i++) {
      const offset = BigInt(Math.floor(i / TIE_GROUP)) * 1_000n; // ns
      const startTime = [baseSec + Number(offset / 1_000_000_000n), Number(offset % 1_000_000_000n)];
      // A 10-ary tree: span i's parent is span floor((i - 1) / 10).
      const parent = i === 0 ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, contexts[Math.floor((i - 1) / 10)]);
      const span = tracer.startSpan(
        `op ${i % 100}`,
        { kind: i === 0 ? SpanKind.SERVER : SpanKind.INTERNAL, startTime, attributes: { 'it.index': i } },
        parent,
      );
      span.end([startTime[0], startTime[1] + 500]);
      const ctx = span.spanContext();
      contexts.push(ctx);
      spanIds.add(ctx.spanId);
      startOf.set(ctx.spanId, BigInt(startTime[0]) * 1_000_000_000n + BigInt(startTime[1]));
      if ((i + 1) % FLUSH_EVERY === 0) await svc.flush();
    }
    await svc.flush();
  } finally {
    await svc.shutdown();
  }
  traceId = contexts[0].traceId;
  assert.equal(spanIds.size, SPANS);
});

after(async () => {
  if (srv) await srv.stop();
});

function assertOrdered(spans) {
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1].span;
    const b = spans[i].span;
    const sa = big(a.startTimeUnixNano);
    const sb = big(b.startTimeUnixNano);
    assert.ok(sa < sb || (sa === sb && a.spanId < b.spanId), `order at ${i}: ${sa}/${a.spanId} then ${sb}/${b.spanId}`);
  }
}

describe('a 50,000-span trace', () => {
  it('is returned whole by /v1/trace/:id', { timeout: 120_000 }, async () => {
    const res = await api.trace(traceId);
    assert.equal(res.status, 200, res.text.slice(0, 500));
    assert.equal(res.json.metadata, null);
    const spans = res.json.spans;
    assert.equal(spans.length, SPANS);
    const got = new Set(spans.map((s) => s.span.spanId));
    assert.equal(got.size, SPANS, 'no span repeated');
    assert.deepStrictEqual(got, spanIds);
    for (const s of spans) {
      assert.equal(s.span.traceId, traceId);
      assert.equal(big(s.span.startTimeUnixNano), startOf.get(s.span.spanId));
    }
    assertOrdered(spans);
  });

  it('is returned in 10 pages of 5,000 whose union is exact', { timeout: 120_000 }, async () => {
    const { pages, spans } = await api.traceAll(traceId, PAGE, { maxPages: 20 });
    assert.deepStrictEqual(pages.map((p) => p.length), Array(SPANS / PAGE).fill(PAGE));
    const ids = spans.map((s) => s.span.spanId);
    assert.equal(new Set(ids).size, SPANS, 'no span repeated across pages');
    assert.deepStrictEqual(new Set(ids), spanIds);
    assertOrdered(spans);
  });

  it('pages of 4,999 (not a divisor) also add up exactly', { timeout: 120_000 }, async () => {
    const { pages, spans } = await api.traceAll(traceId, 4_999, { maxPages: 20 });
    assert.deepStrictEqual(pages.map((p) => p.length), [...Array(10).fill(4_999), 10]);
    const ids = new Set(spans.map((s) => s.span.spanId));
    assert.equal(ids.size, SPANS);
    assertOrdered(spans);
  });

  it('search pages default to 50 spans', async () => {
    const res = await api.search({
      timeframe: ALL_TIME,
      filters: [{ keyValueFilter: { key: 'span.traceId', operator: 'equals', value: traceId } }],
      sort: [{ field: 'span.startTimeUnixNano', ascending: true }],
    });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    assert.equal(res.json.spans.length, 50);
    assert.equal(typeof res.json.metadata?.nextToken, 'string');
    assertOrdered(res.json.spans);
  });

  it('leaves the server able to stop cleanly', async () => {
    const { code } = await srv.stop();
    assert.equal(code, 0, srv.logTail());
    srv = null;
  });
});
