// Test data, sent the way applications send it: the OpenTelemetry JS SDK with the OTLP/HTTP
// protobuf exporter, one tracer provider per service. Times are explicit nanoseconds so the
// tests can assert exact values (the raw JSON view must show them digit for digit).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const hr = (ns) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
export const msToNs = (ms) => BigInt(Math.round(ms * 1e6));

const KINDS = {
  Internal: SpanKind.INTERNAL,
  Server: SpanKind.SERVER,
  Client: SpanKind.CLIENT,
  Producer: SpanKind.PRODUCER,
  Consumer: SpanKind.CONSUMER,
};

export class Sender {
  constructor(otlpHttpUrl) {
    this.url = `${otlpHttpUrl}/v1/traces`;
    this.providers = new Map();
    this.pending = 0;
  }

  tracer(service) {
    let p = this.providers.get(service);
    if (!p) {
      const attrs = { 'service.name': service, 'service.version': '1.4.2', 'host.name': `${service}-host-1` };
      const provider = new NodeTracerProvider({
        resource: resourceFromAttributes(attrs),
        spanProcessors: [
          new BatchSpanProcessor(new OTLPTraceExporter({ url: this.url, timeoutMillis: 30_000 }), {
            maxQueueSize: 20_000,
            maxExportBatchSize: 1000,
            scheduledDelayMillis: 200,
          }),
        ],
      });
      p = { provider, tracer: provider.getTracer('teletrace-e2e', '1.0.0') };
      this.providers.set(service, p);
    }
    return p.tracer;
  }

  /**
   * Records one finished span. `parent` is a result of an earlier span() call (or undefined for a
   * root); start/end are BigInt Unix nanoseconds. Returns { traceId, spanId, startNs, endNs, name }.
   */
  span(service, name, { parent, kind = 'Internal', start, end, attributes = {}, error, events = [], links = [] }) {
    const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent.context) : ROOT_CONTEXT;
    const s = this.tracer(service).startSpan(
      name,
      {
        kind: KINDS[kind],
        attributes,
        startTime: hr(start),
        links: links.map((l) => ({ context: l.target.context, attributes: l.attributes ?? {} })),
      },
      ctx,
    );
    for (const e of events) s.addEvent(e.name, e.attributes ?? {}, hr(e.time));
    if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: error });
    s.end(hr(end));
    this.pending++;
    const context = s.spanContext();
    return { traceId: context.traceId, spanId: context.spanId, context, startNs: start, endNs: end, name, service };
  }

  async flush() {
    await Promise.all([...this.providers.values()].map((p) => p.provider.forceFlush()));
    this.pending = 0;
  }

  /** Flushes when many spans are queued: the batch processor drops spans past its queue. */
  async flushEvery(n = 2000) {
    if (this.pending >= n) await this.flush();
  }

  async shutdown() {
    await Promise.all([...this.providers.values()].map((p) => p.provider.shutdown()));
  }
}

/**
 * One checkout request through frontend -> cart (redis) -> payment -> orders (postgres, kafka)
 * -> shipping. With `fail`, payment declines the card (error status + exception event), the
 * checkout fails and stops before orders; its Charge span links to `linkTo` (an earlier attempt).
 */
export function checkoutTrace(sender, baseNs, { fail = false, linkTo } = {}) {
  const t = (ms) => baseNs + msToNs(ms);
  const spans = {};
  spans.root = sender.span('frontend', 'GET /checkout', {
    kind: 'Server',
    start: t(0),
    end: t(120),
    attributes: { 'http.request.method': 'GET', 'http.route': '/checkout', 'http.response.status_code': fail ? 502 : 200, 'user.tier': 'gold' },
    error: fail ? 'payment failed' : undefined,
  });
  spans.cartCall = sender.span('frontend', 'POST cart', { parent: spans.root, kind: 'Client', start: t(5), end: t(30), attributes: { 'http.request.method': 'POST', 'server.address': 'cart' } });
  spans.cart = sender.span('cart', 'POST /cart', {
    parent: spans.cartCall,
    kind: 'Server',
    start: t(7),
    end: t(28),
    attributes: { 'http.request.method': 'POST', 'http.route': '/cart', 'http.response.status_code': 200 },
  });
  spans.redis = sender.span('cart', 'redis GET', { parent: spans.cart, kind: 'Client', start: t(10), end: t(14), attributes: { 'db.system': 'redis', 'db.operation.name': 'GET' } });
  spans.payCall = sender.span('frontend', 'POST payment', { parent: spans.root, kind: 'Client', start: t(35), end: t(80), attributes: { 'http.request.method': 'POST', 'server.address': 'payment' } });
  const payEvents = [{ name: 'validate card', time: t(40), attributes: { 'card.brand': 'visa' } }];
  if (fail) {
    payEvents.push({
      name: 'exception',
      time: t(70),
      attributes: { 'exception.type': 'CardDeclined', 'exception.message': 'card declined', 'exception.stacktrace': 'CardDeclined: card declined\n    at charge (payment.js:42:11)' },
    });
  }
  spans.charge = sender.span('payment', 'Charge', {
    parent: spans.payCall,
    kind: 'Server',
    start: t(37),
    end: t(78),
    attributes: { 'rpc.system': 'grpc', 'rpc.method': 'Charge', 'payment.amount': 42.5 },
    events: payEvents,
    error: fail ? 'card declined' : undefined,
    links: linkTo ? [{ target: linkTo, attributes: { 'link.reason': 'previous attempt' } }] : [],
  });
  spans.fraud = sender.span('payment', 'fraud-check', { parent: spans.charge, start: t(42), end: t(60) });
  if (!fail) {
    spans.ordersCall = sender.span('frontend', 'POST orders', { parent: spans.root, kind: 'Client', start: t(82), end: t(115), attributes: { 'http.request.method': 'POST', 'server.address': 'orders' } });
    spans.order = sender.span('orders', 'CreateOrder', { parent: spans.ordersCall, kind: 'Server', start: t(84), end: t(112), attributes: { 'rpc.system': 'grpc', 'rpc.method': 'CreateOrder' } });
    spans.insert = sender.span('orders', 'INSERT orders', {
      parent: spans.order,
      kind: 'Client',
      start: t(86),
      end: t(95),
      attributes: { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': 'INSERT INTO orders VALUES ($1, $2)' },
    });
    spans.publish = sender.span('orders', 'orders publish', {
      parent: spans.order,
      kind: 'Producer',
      start: t(96),
      end: t(100),
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
    });
    spans.ship = sender.span('shipping', 'orders process', {
      parent: spans.publish,
      kind: 'Consumer',
      start: t(130),
      end: t(160),
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
    });
  }
  return spans;
}

/** A product listing: frontend -> catalog, `durationMs` long. */
export function productsTrace(sender, baseNs, durationMs) {
  const t = (ms) => baseNs + msToNs(ms);
  const root = sender.span('frontend', 'GET /products', {
    kind: 'Server',
    start: t(0),
    end: t(durationMs),
    attributes: { 'http.request.method': 'GET', 'http.route': '/products', 'http.response.status_code': 200 },
  });
  const call = sender.span('frontend', 'GET catalog', { parent: root, kind: 'Client', start: t(1), end: t(durationMs - 1) });
  const list = sender.span('catalog', 'ListProducts', { parent: call, kind: 'Server', start: t(2), end: t(durationMs - 2) });
  return { root, call, list };
}

/**
 * A trace of exactly `total` spans: a root, 100 batches of 498 items, then root-level "tail-k"
 * spans that start after everything else (so the waterfall's last row is the last tail span).
 */
export async function largeTrace(sender, baseNs, total = 50_000) {
  const t = (ms) => baseNs + msToNs(ms);
  const BATCHES = 100;
  const ITEMS = 498;
  const tails = total - 1 - BATCHES - BATCHES * ITEMS;
  if (tails < 1) throw new Error('largeTrace: total too small');
  const root = sender.span('bulk', 'import catalogue', { kind: 'Server', start: t(0), end: t(2200 + tails) });
  for (let b = 0; b < BATCHES; b++) {
    const bs = 1 + b * 20;
    const batch = sender.span('bulk', `batch-${b}`, { parent: root, start: t(bs), end: t(bs + 10) });
    for (let i = 0; i < ITEMS; i++) {
      sender.span('bulk-worker', `item-${b}-${i}`, { parent: batch, start: t(bs + i * 0.01), end: t(bs + i * 0.01 + 0.005), attributes: { 'item.index': i } });
    }
    await sender.flushEvery(2000);
  }
  let last;
  for (let k = 0; k < tails; k++) {
    last = sender.span('bulk', `tail-${k}`, { parent: root, start: t(2100 + k), end: t(2100.5 + k) });
  }
  await sender.flush();
  return { root, last, total };
}
