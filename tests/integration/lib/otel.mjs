// OpenTelemetry JS SDK clients pointed at a test server, plus the mapping from what the SDK
// produced (ReadableSpan) to the InternalSpan JSON the v1 API must return.
//
// Each service gets its own NodeTracerProvider (never registered globally) with two processors:
// a BatchSpanProcessor feeding the real OTLP exporter, and a SimpleSpanProcessor into an
// InMemorySpanExporter that records exactly what the SDK exported, for field-by-field comparison.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace };

export const PROPAGATOR = new W3CTraceContextPropagator();

// kind: 'grpc' | 'proto' | 'json'
export function makeExporter(kind, srv) {
  switch (kind) {
    case 'grpc':
      return new GrpcExporter({ url: `http://${srv.grpcUrl}`, timeoutMillis: 30_000 });
    case 'proto':
      return new ProtoExporter({ url: srv.otlpTracesUrl, timeoutMillis: 30_000 });
    case 'json':
      return new JsonExporter({ url: srv.otlpTracesUrl, timeoutMillis: 30_000 });
    default:
      throw new Error(`unknown exporter kind ${kind}`);
  }
}

// Returns { provider, tracer(name, version), memory, flush(), shutdown() }.
// Options: maxQueueSize of the BatchSpanProcessor; record: keep the in-memory copy (off for
// very large volumes).
export function makeService(kind, srv, resourceAttributes, { maxQueueSize = 4096, record = true } = {}) {
  const exporter = makeExporter(kind, srv);
  const memory = record ? new InMemorySpanExporter() : null;
  const spanProcessors = [
    new BatchSpanProcessor(exporter, {
      maxQueueSize,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 200,
      exportTimeoutMillis: 30_000,
    }),
  ];
  if (memory) spanProcessors.push(new SimpleSpanProcessor(memory));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors,
  });
  return {
    kind,
    provider,
    memory,
    tracer: (name, version) => provider.getTracer(name, version),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

// A provider (never registered globally) that exports every span over OTLP/gRPC to each of
// `grpcUrls` ("http://127.0.0.1:N"): the same spans into teletrace and a reference system.
export function makeTeeProvider(grpcUrls, resourceAttributes) {
  return new NodeTracerProvider({
    resource: resourceFromAttributes(resourceAttributes),
    spanProcessors: grpcUrls.map(
      (url) =>
        new BatchSpanProcessor(new GrpcExporter({ url, timeoutMillis: 30_000 }), {
          maxExportBatchSize: 512,
          scheduledDelayMillis: 100,
        }),
    ),
  });
}

// W3C propagation across services: inject from `span` into a header carrier, extract into a
// context that a tracer of another service uses as parent.
export function injectHeaders(span) {
  const carrier = {};
  PROPAGATOR.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
    set: (c, k, v) => {
      c[k] = v;
    },
  });
  return carrier;
}

export function extractContext(carrier) {
  return PROPAGATOR.extract(ROOT_CONTEXT, carrier, {
    get: (c, k) => c[k],
    keys: (c) => Object.keys(c),
  });
}

export function hrToNanos([sec, nanos]) {
  return BigInt(sec) * 1_000_000_000n + BigInt(nanos);
}

const KIND_NAMES = {
  [SpanKind.INTERNAL]: 'Internal',
  [SpanKind.SERVER]: 'Server',
  [SpanKind.CLIENT]: 'Client',
  [SpanKind.PRODUCER]: 'Producer',
  [SpanKind.CONSUMER]: 'Consumer',
};
const STATUS_NAMES = {
  [SpanStatusCode.UNSET]: 'Unset',
  [SpanStatusCode.OK]: 'Ok',
  [SpanStatusCode.ERROR]: 'Error',
};

// The InternalSpan the v1 API must return for a ReadableSpan the SDK exported. Times are BigInt;
// compare with normalizeInternalSpan() applied to the server's answer.
export function expectedInternalSpan(rs) {
  const ctx = rs.spanContext();
  const start = hrToNanos(rs.startTime);
  const end = hrToNanos(rs.endTime);
  return {
    resource: {
      attributes: { ...rs.resource.attributes },
      droppedAttributesCount: 0,
    },
    scope: {
      name: rs.instrumentationScope.name,
      version: rs.instrumentationScope.version ?? '',
      attributes: {},
      droppedAttributesCount: 0,
    },
    span: {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      traceState: ctx.traceState?.serialize() ?? '',
      parentSpanId: rs.parentSpanContext?.spanId ?? '',
      name: rs.name,
      kind: KIND_NAMES[rs.kind],
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes: { ...rs.attributes },
      droppedAttributesCount: rs.droppedAttributesCount,
      events: rs.events.map((e) => ({
        timeUnixNano: hrToNanos(e.time),
        name: e.name,
        attributes: { ...(e.attributes ?? {}) },
        droppedAttributesCount: e.droppedAttributesCount ?? 0,
      })),
      droppedEventsCount: rs.droppedEventsCount,
      links: rs.links.map((l) => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceState: l.context.traceState?.serialize() ?? '',
        attributes: { ...(l.attributes ?? {}) },
        droppedAttributesCount: l.droppedAttributesCount ?? 0,
      })),
      droppedLinksCount: rs.droppedLinksCount,
      status: {
        code: STATUS_NAMES[rs.status.code],
        message: rs.status.message ?? '',
      },
    },
    externalFields: { durationNano: end - start },
  };
}
