// Renders stored spans in the Jaeger query API's JSON model, as Jaeger v2 answers its HTTP API
// (the OpenTelemetry Collector's OTLP-to-Jaeger translation, then the query service's adjusters,
// then its JSON converter):
//
//   trace   {"traceID", "spans": [...], "processes": {"p1": {"serviceName", "tags"}}, "warnings"}
//   span    {"traceID", "spanID", "operationName", "references", "startTime" (µs), "duration"
//            (µs, truncated on its own), "tags", "logs", "processID", "warnings"}
//   tag     {"key", "type": string|bool|int64|float64|binary, "value"}
//
// Resource attributes other than service.name become process tags; spans with equal resources
// share one process ("p1", "p2", ... in order of first use; a resource without a service name is
// "missing-service-name", as Jaeger's ingest names it). Span tags are the span's attributes plus
// otel.scope.name/version, span.kind, otel.status_code, error, otel.status_description and
// w3c.tracestate when set; tags are sorted by key, then type, then value. Events become logs (an
// "event" field with the name first, then the attributes sorted); the parent becomes a CHILD_OF
// reference and each link a FOLLOWS_FROM one (CHILD_OF when its opentracing.ref_type says so).
// Arrays and maps are strings holding their JSON, bytes are base64 "binary" tags, integers beyond
// ±(2^53-1) are written as strings. A span whose parent is not in the trace carries Jaeger's
// warning "invalid parent span IDs=<id>; skipping clock skew adjustment". What Jaeger's model
// cannot carry is left out, as Jaeger leaves it out: span flags, dropped counts, link attributes
// and trace states, scope attributes.
#pragma once

#include <string>
#include <vector>

#include "model/span.h"

namespace teletrace::api::jaeger {

// One trace object. `spans` all belong to one trace and are written in the order given.
void AppendJaegerTrace(std::string* out, const std::vector<model::StoredSpan>& spans);

// A tag's value as Jaeger compares it with a search condition (pcommon's AsString): strings as
// they are, booleans "true"/"false", integers in decimal, doubles in Go's shortest form, arrays
// and maps as JSON, bytes as base64.
std::string AttributeAsString(const model::AnyValue& value);

// A double as Go's encoding/json writes it: shortest round-trip digits, exponent form below 1e-6
// and from 1e21 on ("1e-07" style exponents without a leading zero: "1e-7").
void AppendGoFloat(std::string* out, double v);

}  // namespace teletrace::api::jaeger
