// The official OpenTelemetry JS Zipkin exporter and what a test needs to drive it, re-exported so
// that tests outside this package (tests/jaeger) resolve them from this package's node_modules.
export { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
export { resourceFromAttributes } from '@opentelemetry/resources';
export { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
