// Zipkin JSON v2 spans (the body of Zipkin's `POST /api/v2/spans`, a JSON array of spans) to the
// span model, mapped exactly as the OpenTelemetry Collector's Zipkin receiver maps them
// (pkg/translator/zipkin/zipkinv2, parse_string_tags off), so that a span sent to Teletrace's
// Zipkin endpoint reads back as it would through the Collector:
//
//   traceId (16 or 32 hex)      trace id (a 64-bit id fills the low 8 bytes)
//   id / parentId               span id / parent span id (a parentId equal to id is dropped)
//   name, kind                  name; CLIENT/SERVER/PRODUCER/CONSUMER, else tag span.kind=internal
//                               gives Internal (tag removed), else Unspecified
//   timestamp, duration (µs)    start = timestamp, end = start + duration (ns); no timestamp:
//                               start 0, end = duration, attribute
//                               otel.zipkin.absentField.startTime=true
//   localEndpoint.serviceName   resource service.name (or the key named by the tag
//                               otlp.service.name.source); the tags that are resource semantic
//                               conventions (host.name, ...) move to the resource
//   tags otel.library.name/version  scope name and version
//   tags otel.status_code/_description, error   status (error=true is removed, other values stay)
//   tags w3c.tracestate, otlp.link.N  trace state, links
//   other tags                  string attributes, then net.host.ip/net.host.port (local
//                               endpoint), peer.service/net.peer.ip/net.peer.port (remote)
//   annotations                 events ("name|{json attributes}|dropped" as the exporter writes)
//   debug, shared               dropped, as the Collector drops them
//
// Spans go to one ResourceSpans per distinct resource, and within it one ScopeSpans per scope,
// ordered by service name then scope name (the Collector's order), spans in request order.
//
//   ASSIGN_OR_RETURN(model::SpanBatch batch, DecodeZipkinJson(body));
//   ValidationResult v = ValidateSpans(&batch);
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "model/span.h"

namespace teletrace::ingest {

// Decodes `json`, a JSON array of Zipkin v2 spans ([] is a valid empty batch; null elements are
// skipped). Any defect fails the whole request, as in the Collector, with InvalidArgument:
// - "invalid Zipkin JSON: <parser message>" for text that is not JSON;
// - "<path>: <what>" naming the span and field, e.g. "spans[3].traceId: expected 16 or 32 hex
//   digits", "spans[0].tags.http.status_code: expected a string", "spans[1].annotations[0]
//   .timestamp: expected a positive integer (microseconds)".
// An all-zero trace or span id is an error too (named by span index, which validation could not
// do after the regrouping). Never throws; time linear in the input size (nesting inside ignored fields is bounded by the JSON parser's depth).
// Thread safe; the result owns all of its data.
absl::StatusOr<model::SpanBatch> DecodeZipkinJson(std::string_view json);

}  // namespace teletrace::ingest
