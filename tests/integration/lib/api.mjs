// A thin client for the Teletrace v1 query API that keeps nanosecond integers exact.
//
// Every call resolves to { status, contentType, text, json } where json is parsed with
// parseJson (BigInt for long integers) or undefined when the body is not JSON.
import { big, parseJson, stringifyJson } from './json.mjs';

const TIMEOUT_MS = 60_000;

export async function httpRequest(method, url, { body, headers = {}, timeoutMs = TIMEOUT_MS } = {}) {
  const res = await fetch(url, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type') ?? '';
  const text = buf.toString('utf8');
  let json;
  if (contentType.includes('json')) {
    try {
      json = parseJson(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, contentType, headers: res.headers, buf, text, json };
}

export class Api {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }

  get(pathAndQuery) {
    return httpRequest('GET', `${this.baseUrl}${pathAndQuery}`);
  }

  post(pathname, body) {
    return httpRequest('POST', `${this.baseUrl}${pathname}`, {
      body: typeof body === 'string' ? body : stringifyJson(body),
      headers: { 'content-type': 'application/json' },
    });
  }

  ping() {
    return this.get('/v1/ping');
  }
  systemInfo() {
    return this.get('/v1/system-info');
  }
  search(body) {
    return this.post('/v1/search', body);
  }
  trace(traceId, { pageSize, nextToken } = {}) {
    const q = new URLSearchParams();
    if (pageSize !== undefined) q.set('pageSize', String(pageSize));
    if (nextToken !== undefined) q.set('nextToken', nextToken);
    const qs = q.toString();
    return this.get(`/v1/trace/${traceId}${qs ? `?${qs}` : ''}`);
  }
  tags(range) {
    if (!range) return this.get('/v1/tags');
    const q = new URLSearchParams({
      startTimeUnixNanoSec: String(range.startTimeUnixNanoSec),
      endTimeUnixNanoSec: String(range.endTimeUnixNanoSec),
    });
    return this.get(`/v1/tags?${q}`);
  }
  tagValues(tag, body) {
    return this.post(`/v1/tags/${encodeURIComponent(tag)}`, body);
  }
  statistics(tag, body) {
    return this.post(`/v1/tags/${encodeURIComponent(tag)}/statistics`, body);
  }
  histograms(body) {
    return this.post('/v1/histograms', body);
  }

  // Follows metadata.nextToken until it is null. Returns { pages: [spans[]], spans }.
  // Throws when a page is not 200 or when more than maxPages are needed.
  async searchAll(body, { maxPages = 1000 } = {}) {
    const pages = [];
    let nextToken;
    for (let i = 0; i < maxPages; i++) {
      const req = { ...body };
      if (nextToken !== undefined) req.metadata = { nextToken };
      const res = await this.search(req);
      if (res.status !== 200) {
        throw new Error(`search page ${i}: status ${res.status}: ${res.text.slice(0, 500)}`);
      }
      pages.push(res.json.spans);
      if (res.json.metadata === null || res.json.metadata === undefined) {
        return { pages, spans: pages.flat() };
      }
      nextToken = res.json.metadata.nextToken;
      if (typeof nextToken !== 'string' || nextToken === '') {
        throw new Error(`search page ${i}: metadata without a nextToken: ${stringifyJson(res.json.metadata)}`);
      }
    }
    throw new Error(`search needed more than ${maxPages} pages`);
  }

  // Follows the trace cursor; same contract as searchAll.
  async traceAll(traceId, pageSize, { maxPages = 1000 } = {}) {
    const pages = [];
    let nextToken;
    for (let i = 0; i < maxPages; i++) {
      const res = await this.trace(traceId, { pageSize, nextToken });
      if (res.status !== 200) {
        throw new Error(`trace page ${i}: status ${res.status}: ${res.text.slice(0, 500)}`);
      }
      pages.push(res.json.spans);
      if (res.json.metadata === null || res.json.metadata === undefined) {
        return { pages, spans: pages.flat() };
      }
      nextToken = res.json.metadata.nextToken;
      if (typeof nextToken !== 'string' || nextToken === '') {
        throw new Error(`trace page ${i}: metadata without a nextToken`);
      }
    }
    throw new Error(`trace needed more than ${maxPages} pages`);
  }
}

// All time: a timeframe that holds every span the tests send.
export const ALL_TIME = { startTimeUnixNanoSec: 0n, endTimeUnixNanoSec: 0n };

// Counts every stored span by paging through /v1/search over all time.
export async function countAllSpans(api) {
  const { spans } = await api.searchAll({
    timeframe: ALL_TIME,
    filters: [],
    sort: [{ field: 'span.startTimeUnixNano', ascending: true }],
    pageSize: 1000,
  });
  return spans.length;
}

export function spanKey(s) {
  return `${s.span.traceId}/${s.span.spanId}`;
}

// The InternalSpan fields REFERENCE §2 defines, with every nanosecond field as BigInt, so a server
// answer compares with assert.deepStrictEqual against an expectation (extra fields are ignored;
// a missing field shows up as undefined in the diff).
export function pickInternalSpan(s) {
  const ns = (v) => (v === undefined || v === null ? v : big(v));
  const sp = s.span ?? {};
  return {
    resource: {
      attributes: s.resource?.attributes,
      droppedAttributesCount: s.resource?.droppedAttributesCount,
    },
    scope: {
      name: s.scope?.name,
      version: s.scope?.version,
      attributes: s.scope?.attributes,
      droppedAttributesCount: s.scope?.droppedAttributesCount,
    },
    span: {
      traceId: sp.traceId,
      spanId: sp.spanId,
      traceState: sp.traceState,
      parentSpanId: sp.parentSpanId,
      name: sp.name,
      kind: sp.kind,
      startTimeUnixNano: ns(sp.startTimeUnixNano),
      endTimeUnixNano: ns(sp.endTimeUnixNano),
      attributes: sp.attributes,
      droppedAttributesCount: sp.droppedAttributesCount,
      events: sp.events?.map((e) => ({
        timeUnixNano: ns(e.timeUnixNano),
        name: e.name,
        attributes: e.attributes,
        droppedAttributesCount: e.droppedAttributesCount,
      })),
      droppedEventsCount: sp.droppedEventsCount,
      links: sp.links?.map((l) => ({
        traceId: l.traceId,
        spanId: l.spanId,
        traceState: l.traceState,
        attributes: l.attributes,
        droppedAttributesCount: l.droppedAttributesCount,
      })),
      droppedLinksCount: sp.droppedLinksCount,
      status: sp.status && { code: sp.status.code, message: sp.status.message },
    },
    externalFields: { durationNano: ns(s.externalFields?.durationNano) },
  };
}
