// Builders for test spans: InternalSpan JSON as the API returns it, times in ms offsets from a
// fixed epoch so expectations stay readable.
import type { Attributes, InternalSpan, SpanKind, StatusCode } from '../api/types';
import { fromInternalSpan, type Span } from '../model/span';

export const T0 = 1_732_662_000_000_000_000n; // 2024-11-26T23:00:00Z in ns
export const TRACE = '0af7651916cd43dd8448eb211c80319c';

export interface SpanSpec {
  id: string;
  parent?: string;
  /** Offsets from T0 in ms (fractions allowed). */
  start: number;
  end: number;
  service?: string | null;
  name?: string;
  kind?: SpanKind;
  status?: StatusCode;
  statusMessage?: string;
  attrs?: Attributes;
  resource?: Attributes;
  events?: { name: string; at: number; attrs?: Attributes }[];
  links?: { traceId: string; spanId: string; attrs?: Attributes }[];
  traceId?: string;
}

const ns = (ms: number) => T0 + BigInt(Math.round(ms * 1e6));

export function internalSpan(s: SpanSpec): InternalSpan {
  const start = ns(s.start);
  const end = ns(s.end);
  const resource: Attributes = { ...(s.resource ?? {}) };
  if (s.service !== null) resource['service.name'] = s.service ?? 'svc';
  return {
    resource: { attributes: resource, droppedAttributesCount: 0 },
    scope: { name: 'test', version: '1.0', attributes: {}, droppedAttributesCount: 0 },
    span: {
      traceId: s.traceId ?? TRACE,
      spanId: s.id,
      traceState: '',
      parentSpanId: s.parent ?? '',
      flags: 0,
      name: s.name ?? `op-${s.id}`,
      kind: s.kind ?? 'Internal',
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: end.toString(),
      attributes: s.attrs ?? {},
      droppedAttributesCount: 0,
      events: (s.events ?? []).map((e) => ({
        timeUnixNano: ns(e.at).toString(),
        name: e.name,
        attributes: e.attrs ?? {},
        droppedAttributesCount: 0,
      })),
      droppedEventsCount: 0,
      links: (s.links ?? []).map((l) => ({
        traceId: l.traceId,
        spanId: l.spanId,
        traceState: '',
        attributes: l.attrs ?? {},
        droppedAttributesCount: 0,
        flags: 0,
      })),
      droppedLinksCount: 0,
      status: { message: s.statusMessage ?? '', code: s.status ?? 'Unset' },
    },
    externalFields: { durationNano: (end - start).toString() },
    ingestionTimeUnixNano: (end + 1_000_000n).toString(),
  };
}

export function span(s: SpanSpec): Span {
  return fromInternalSpan(internalSpan(s));
}

export function spans(...specs: SpanSpec[]): Span[] {
  return specs.map(span);
}

/** Milliseconds since T0 of a ns value, for assertions. */
export function ms(v: bigint): number {
  return Number(v - T0) / 1e6;
}
