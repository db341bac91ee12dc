// The UI's view of one span: the API's InternalSpan plus exact BigInt times and the fields every
// widget reads (service name, error flag). Pure: no React, no fetching.
import type { AttributeValue, Attributes, InternalSpan, SpanKind, StatusCode } from '../api/types';

export interface Span {
  /** traceId + ':' + spanId: unique per span as long as the data has no duplicate ids. */
  id: string;
  traceId: string;
  spanId: string;
  /** "" for a root. */
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  statusCode: StatusCode;
  statusMessage: string;
  /** resource.attributes["service.name"], or "" when the resource has none. */
  serviceName: string;
  startNs: bigint;
  endNs: bigint;
  durationNs: bigint;
  /** Start in epoch milliseconds (fractional), for display and coarse maths. */
  startMs: number;
  raw: InternalSpan;
}

/** Shown wherever a span has no service.name. */
export const UNKNOWN_SERVICE = '(unknown service)';

export function toBigInt(v: string | number | bigint | undefined | null): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}

export function nsToMs(ns: bigint): number {
  // Split so the fraction keeps its precision: epoch ms ~1.7e12 leaves ~0.2 µs of resolution.
  const ms = ns / 1_000_000n;
  const rem = ns % 1_000_000n;
  return Number(ms) + Number(rem) / 1e6;
}

export function msToNs(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

export function fromInternalSpan(raw: InternalSpan): Span {
  const s = raw.span;
  const startNs = toBigInt(s.startTimeUnixNano);
  const endNs = toBigInt(s.endTimeUnixNano);
  const dur = raw.externalFields?.durationNano;
  const durationNs = dur !== undefined ? toBigInt(dur) : endNs > startNs ? endNs - startNs : 0n;
  const service = raw.resource?.attributes?.['service.name'];
  return {
    id: `${s.traceId}:${s.spanId}`,
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId ?? '',
    name: s.name,
    kind: s.kind,
    statusCode: s.status?.code ?? 'Unset',
    statusMessage: s.status?.message ?? '',
    serviceName: typeof service === 'string' ? service : service == null ? '' : attributeText(service),
    startNs,
    endNs,
    durationNs,
    startMs: nsToMs(startNs),
    raw,
  };
}

export function serviceLabel(span: Span): string {
  return span.serviceName || UNKNOWN_SERVICE;
}

/** An attribute value as one line of text (arrays and maps as JSON, BigInts exact). */
export function attributeText(v: AttributeValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

const LEVEL_PREFIXES: [string, (s: InternalSpan) => Attributes | undefined][] = [
  ['resource.attributes.', (s) => s.resource?.attributes],
  ['scope.attributes.', (s) => s.scope?.attributes],
  ['span.attributes.', (s) => s.span.attributes],
];

/**
 * The value of a query key (e.g. "span.attributes.http.route", "span.name") on a span, for table
 * columns and facets; undefined when the span has none. Event and link attributes yield the first
 * event's / link's value that has the key.
 */
export function fieldValue(span: Span, key: string): AttributeValue | undefined {
  const raw = span.raw;
  switch (key) {
    case 'span.name':
      return span.name;
    case 'span.kind':
      return span.kind;
    case 'span.status.code':
      return span.statusCode;
    case 'span.status.message':
      return span.statusMessage;
    case 'span.traceId':
      return span.traceId;
    case 'span.spanId':
      return span.spanId;
    case 'span.parentSpanId':
      return span.parentSpanId;
    case 'span.traceState':
      return raw.span.traceState;
    case 'span.startTimeUnixNano':
      return span.startNs;
    case 'span.endTimeUnixNano':
      return span.endNs;
    case 'externalFields.durationNano':
      return span.durationNs;
    case 'scope.name':
      return raw.scope?.name;
    case 'scope.version':
      return raw.scope?.version;
    case 'ingestionTimeUnixNano':
      return toBigInt(raw.ingestionTimeUnixNano);
    case 'span.events.name':
      return raw.span.events?.[0]?.name;
  }
  for (const [prefix, get] of LEVEL_PREFIXES) {
    if (key.startsWith(prefix)) return get(raw)?.[key.slice(prefix.length)];
  }
  if (key.startsWith('span.events.attributes.')) {
    const k = key.slice('span.events.attributes.'.length);
    for (const e of raw.span.events ?? []) if (k in e.attributes) return e.attributes[k];
    return undefined;
  }
  if (key.startsWith('span.links.attributes.')) {
    const k = key.slice('span.links.attributes.'.length);
    for (const l of raw.span.links ?? []) if (k in l.attributes) return l.attributes[k];
    return undefined;
  }
  return undefined;
}
