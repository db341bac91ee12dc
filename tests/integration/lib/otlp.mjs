// Hand-built OTLP trace payloads: a minimal protobuf writer for ExportTraceServiceRequest (field
// numbers from opentelemetry-proto 1.x), a reader for the few response messages the tests check,
// and OTLP/JSON helpers. Used where the SDK cannot express the payload (zero ids, kvlist and bytes
// attributes, unspecified kind, large batches with chosen ids and times) and for raw HTTP posts.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';

import { parseJson, stringifyJson } from './json.mjs';

// ---- protobuf writer ----

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

function tag(field, wireType) {
  return varint((field << 3) | wireType);
}

function lenField(field, payload) {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  return Buffer.concat([tag(field, WT_LEN), varint(buf.length), buf]);
}

function varintField(field, value) {
  return Buffer.concat([tag(field, WT_VARINT), varint(value)]);
}

function fixed64Field(field, value) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
  return Buffer.concat([tag(field, WT_I64), b]);
}

function fixed32Field(field, value) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return Buffer.concat([tag(field, WT_I32), b]);
}

function doubleField(field, value) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([tag(field, WT_I64), b]);
}

// Typed attribute values for hand-built spans. Plain JS values map as the SDK maps them
// (integral Number -> int, other Number -> double); use these wrappers to force a type.
export const V = {
  str: (v) => ({ t: 'str', v }),
  int: (v) => ({ t: 'int', v: BigInt(v) }),
  dbl: (v) => ({ t: 'dbl', v }),
  bool: (v) => ({ t: 'bool', v }),
  bytes: (v) => ({ t: 'bytes', v: Buffer.from(v) }),
  arr: (vs) => ({ t: 'arr', v: vs }),
  kv: (obj) => ({ t: 'kv', v: obj }),
};

function typed(value) {
  if (value && typeof value === 'object' && 't' in value && 'v' in value) return value;
  if (typeof value === 'string') return V.str(value);
  if (typeof value === 'boolean') return V.bool(value);
  if (typeof value === 'bigint') return V.int(value);
  if (typeof value === 'number') return Number.isInteger(value) ? V.int(value) : V.dbl(value);
  if (Array.isArray(value)) return V.arr(value);
  throw new Error(`cannot type attribute value ${String(value)}`);
}

function encodeAnyValue(value) {
  const { t, v } = typed(value);
  switch (t) {
    case 'str':
      return lenField(1, v);
    case 'bool':
      return varintField(2, v ? 1 : 0);
    case 'int':
      return varintField(3, v);
    case 'dbl':
      return doubleField(4, v);
    case 'arr':
      return lenField(5, Buffer.concat(v.map((x) => lenField(1, encodeAnyValue(x)))));
    case 'kv':
      return lenField(6, encodeAttributes(v, 1));
    case 'bytes':
      return lenField(7, v);
    default:
      throw new Error(`unknown type ${t}`);
  }
}

// Repeated KeyValue under `field`.
function encodeAttributes(attrs = {}, field) {
  return Buffer.concat(
    Object.entries(attrs).map(([k, v]) =>
      lenField(field, Buffer.concat([lenField(1, k), lenField(2, encodeAnyValue(v))])),
    ),
  );
}

function idBytes(hex) {
  return Buffer.from(hex, 'hex');
}

function encodeSpan(s) {
  const parts = [lenField(1, idBytes(s.traceId)), lenField(2, idBytes(s.spanId))];
  if (s.traceState) parts.push(lenField(3, s.traceState));
  if (s.parentSpanId) parts.push(lenField(4, idBytes(s.parentSpanId)));
  parts.push(lenField(5, s.name));
  if (s.kind) parts.push(varintField(6, s.kind));
  parts.push(fixed64Field(7, s.start));
  parts.push(fixed64Field(8, s.end));
  parts.push(encodeAttributes(s.attributes, 9));
  if (s.droppedAttributesCount) parts.push(varintField(10, s.droppedAttributesCount));
  for (const e of s.events ?? []) {
    const ep = [fixed64Field(1, e.time), lenField(2, e.name), encodeAttributes(e.attributes, 3)];
    if (e.droppedAttributesCount) ep.push(varintField(4, e.droppedAttributesCount));
    parts.push(lenField(11, Buffer.concat(ep)));
  }
  if (s.droppedEventsCount) parts.push(varintField(12, s.droppedEventsCount));
  for (const l of s.links ?? []) {
    const lp = [lenField(1, idBytes(l.traceId)), lenField(2, idBytes(l.spanId))];
    if (l.traceState) lp.push(lenField(3, l.traceState));
    lp.push(encodeAttributes(l.attributes, 4));
    if (l.droppedAttributesCount) lp.push(varintField(5, l.droppedAttributesCount));
    if (l.flags !== undefined) lp.push(fixed32Field(6, l.flags));
    parts.push(lenField(13, Buffer.concat(lp)));
  }
  if (s.droppedLinksCount) parts.push(varintField(14, s.droppedLinksCount));
  if (s.status) {
    const sp = [];
    if (s.status.message) sp.push(lenField(2, s.status.message));
    if (s.status.code) sp.push(varintField(3, s.status.code));
    parts.push(lenField(15, Buffer.concat(sp)));
  }
  if (s.flags !== undefined) parts.push(fixed32Field(16, s.flags));
  return Buffer.concat(parts);
}

// resourceSpans: [{ resource: {attributes}, scopes: [{ scope: {name, version, attributes},
// spans: [span] }] }] where span = { traceId, spanId, parentSpanId?, traceState?, name, kind?,
// start, end (BigInt ns), attributes?, events?: [{time, name, attributes}], links?: [{traceId,
// spanId, traceState?, attributes?}], status?: {code, message}, flags?, dropped*Count? }.
export function encodeExportRequest(resourceSpans) {
  return Buffer.concat(
    resourceSpans.map((rs) => {
      const rsParts = [];
      if (rs.resource) rsParts.push(lenField(1, encodeAttributes(rs.resource.attributes, 1)));
      for (const ss of rs.scopes) {
        const ssParts = [];
        if (ss.scope) {
          const sc = [];
          if (ss.scope.name) sc.push(lenField(1, ss.scope.name));
          if (ss.scope.version) sc.push(lenField(2, ss.scope.version));
          sc.push(encodeAttributes(ss.scope.attributes, 3));
          ssParts.push(lenField(1, Buffer.concat(sc)));
        }
        for (const span of ss.spans) ssParts.push(lenField(2, encodeSpan(span)));
        rsParts.push(lenField(2, Buffer.concat(ssParts)));
      }
      return lenField(1, Buffer.concat(rsParts));
    }),
  );
}

// ---- OTLP/JSON ----

function jsonAnyValue(value) {
  const { t, v } = typed(value);
  switch (t) {
    case 'str':
      return { stringValue: v };
    case 'bool':
      return { boolValue: v };
    case 'int':
      return { intValue: v.toString() };
    case 'dbl':
      return { doubleValue: v };
    case 'arr':
      return { arrayValue: { values: v.map(jsonAnyValue) } };
    case 'kv':
      return { kvlistValue: { values: jsonAttributes(v) } };
    case 'bytes':
      return { bytesValue: v.toString('base64') };
    default:
      throw new Error(`unknown type ${t}`);
  }
}

function jsonAttributes(attrs = {}) {
  return Object.entries(attrs).map(([key, value]) => ({ key, value: jsonAnyValue(value) }));
}

// Same input shape as encodeExportRequest; times are written as decimal strings.
export function jsonExportRequest(resourceSpans) {
  return {
    resourceSpans: resourceSpans.map((rs) => ({
      resource: { attributes: jsonAttributes(rs.resource?.attributes) },
      scopeSpans: rs.scopes.map((ss) => ({
        scope: ss.scope
          ? { name: ss.scope.name, version: ss.scope.version, attributes: jsonAttributes(ss.scope.attributes) }
          : undefined,
        spans: ss.spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          traceState: s.traceState,
          name: s.name,
          kind: s.kind ?? 0,
          startTimeUnixNano: BigInt(s.start).toString(),
          endTimeUnixNano: BigInt(s.end).toString(),
          attributes: jsonAttributes(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount,
          events: (s.events ?? []).map((e) => ({
            timeUnixNano: BigInt(e.time).toString(),
            name: e.name,
            attributes: jsonAttributes(e.attributes),
            droppedAttributesCount: e.droppedAttributesCount,
          })),
          droppedEventsCount: s.droppedEventsCount,
          links: (s.links ?? []).map((l) => ({
            traceId: l.traceId,
            spanId: l.spanId,
            traceState: l.traceState,
            attributes: jsonAttributes(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount,
            flags: l.flags,
          })),
          droppedLinksCount: s.droppedLinksCount,
          status: s.status,
          flags: s.flags,
        })),
      })),
    })),
  };
}

// ---- protobuf reader (responses) ----

function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new Error('varint too long');
}

// Returns [{ field, wireType, value }] for one message level (value: BigInt or Buffer).
export function readFields(buf) {
  const fields = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    let value;
    if (wireType === WT_VARINT) {
      [value, pos] = readVarint(buf, pos);
    } else if (wireType === WT_I64) {
      value = buf.subarray(pos, pos + 8);
      pos += 8;
    } else if (wireType === WT_LEN) {
      let len;
      [len, pos] = readVarint(buf, pos);
      value = buf.subarray(pos, pos + Number(len));
      if (value.length !== Number(len)) throw new Error('truncated length-delimited field');
      pos += Number(len);
    } else if (wireType === WT_I32) {
      value = buf.subarray(pos, pos + 4);
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wireType}`);
    }
    fields.push({ field, wireType, value });
  }
  return fields;
}

// ExportTraceServiceResponse -> { partialSuccess: { rejectedSpans: BigInt, errorMessage } | null }
export function decodeExportResponse(buf) {
  const ps = readFields(buf).find((f) => f.field === 1);
  if (!ps) return { partialSuccess: null };
  let rejectedSpans = 0n;
  let errorMessage = '';
  for (const f of readFields(ps.value)) {
    if (f.field === 1) rejectedSpans = BigInt.asIntN(64, f.value);
    if (f.field === 2) errorMessage = f.value.toString('utf8');
  }
  return { partialSuccess: { rejectedSpans, errorMessage } };
}

// google.rpc.Status -> { code, message }
export function decodeRpcStatus(buf) {
  let code = 0;
  let message = '';
  for (const f of readFields(buf)) {
    if (f.field === 1) code = Number(BigInt.asIntN(32, f.value));
    if (f.field === 2) message = f.value.toString('utf8');
  }
  return { code, message };
}

// ---- HTTP posting ----

// POST to /v1/traces with node:http (full control over headers, chunking and gzip).
// Options: contentType, gzip (compress body), chunks (n > 0: send without Content-Length in n
// writes), headers. Resolves { status, contentType, body: Buffer }; rejects on transport errors.
export function postTraces(url, body, { contentType = 'application/x-protobuf', gzip = false, chunks = 0, headers = {}, timeoutMs = 60_000 } = {}) {
  let payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const h = { 'content-type': contentType, ...headers };
  if (gzip) {
    payload = gzipSync(payload);
    h['content-encoding'] = 'gzip';
  }
  if (chunks > 0) {
    h['transfer-encoding'] = 'chunked';
  } else {
    h['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: h, timeout: timeoutMs, agent: false }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          contentType: res.headers['content-type'] ?? '',
          headers: res.headers,
          body: Buffer.concat(parts),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    // A server may answer (e.g. 413) before it has read the whole body and close the socket; the
    // response still arrives, so write errors after a response are not failures.
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (chunks > 0) {
      const size = Math.ceil(payload.length / chunks);
      for (let i = 0; i < payload.length; i += size) req.write(payload.subarray(i, i + size));
      req.end();
    } else {
      req.end(payload);
    }
  });
}

// The OTLP error message of a non-200 /v1/traces response, whichever encoding it came in.
export function otlpErrorMessage(res) {
  if (res.contentType.includes('json')) {
    const j = parseJson(res.body.toString('utf8'));
    return j.message ?? j.errorMessage ?? '';
  }
  if (res.contentType.includes('protobuf')) return decodeRpcStatus(res.body).message;
  return res.body.toString('utf8');
}

// Partial success of a 200 /v1/traces response: { rejectedSpans: BigInt, errorMessage } or null.
export function otlpPartialSuccess(res) {
  if (res.contentType.includes('json')) {
    const text = res.body.toString('utf8');
    const j = text.trim() === '' ? {} : parseJson(text);
    const ps = j.partialSuccess;
    if (!ps || (Object.keys(ps).length === 0)) return null;
    return {
      rejectedSpans: BigInt(ps.rejectedSpans ?? 0),
      errorMessage: ps.errorMessage ?? '',
    };
  }
  const { partialSuccess } = decodeExportResponse(res.body);
  return partialSuccess;
}

// ---- ids and times ----

export function newTraceId() {
  return randomBytes(16).toString('hex');
}
export function newSpanId() {
  return randomBytes(8).toString('hex');
}

export function nowNanos() {
  return BigInt(Date.now()) * 1_000_000n;
}

export { stringifyJson };

// A one-resource, one-scope request body (for encodeExportRequest / jsonExportRequest) holding
// `count` spans of one trace: span i starts at start + i * stepNanos, lasts 1 ms + i ns, and has a
// few attributes. Returns { resourceSpans, traceId, spanIds }.
export function simpleTrace({
  count,
  traceId = newTraceId(),
  service = 'it-simple',
  start = nowNanos() - 60_000_000_000n,
  stepNanos = 1000n,
  parentOfAll = true,
  name = 'op',
} = {}) {
  const spanIds = [];
  const spans = [];
  for (let i = 0; i < count; i++) {
    const spanId = newSpanId();
    spanIds.push(spanId);
    const s = start + BigInt(i) * stepNanos;
    spans.push({
      traceId,
      spanId,
      parentSpanId: parentOfAll && i > 0 ? spanIds[0] : undefined,
      name: `${name} ${i % 10}`,
      kind: 1 + (i % 5),
      start: s,
      end: s + 1_000_000n + BigInt(i),
      attributes: { 'it.index': i, 'it.batch': name, 'it.even': i % 2 === 0 },
    });
  }
  return {
    traceId,
    spanIds,
    resourceSpans: [
      {
        resource: { attributes: { 'service.name': service } },
        scopes: [{ scope: { name: 'it-raw', version: '1.0.0' }, spans }],
      },
    ],
  };
}
