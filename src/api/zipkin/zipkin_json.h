// Renders stored spans as Zipkin JSON v2, as the OpenTelemetry Collector's Zipkin exporter
// translates them (pkg/translator/zipkin/zipkinv2 FromTranslator), so that a span ingested through
// /api/v2/spans reads back as it was sent:
//
//   resource service.name (or faas.name, k8s.deployment.name, process.executable.name, with the
//       tag otlp.service.name.source naming it; else "OTLPResourceNoServiceName")
//                                 -> localEndpoint.serviceName
//   other resource attributes, scope attributes, otel.library.name/version (scope), span
//       attributes (later levels win)  -> tags, every value as text (pcommon AsString)
//   net.host.ip/port, peer.service, net.peer.ip/port  -> localEndpoint / remoteEndpoint fields
//       (removed from the tags; an IP goes to ipv6 when its text holds ':')
//   kind Internal                 -> tag span.kind=internal; others -> kind
//   status Error                  -> tag error=true (an error tag is removed otherwise);
//       not Unset                 -> tags otel.status_code (STATUS_CODE_OK|ERROR) and
//                                    otel.status_description
//   trace state                   -> tag w3c.tracestate; links -> tags otlp.link.N
//   events                        -> annotations ("name", or "name|{json attributes}|dropped")
//   times                         -> timestamp (µs, rounded; absent when the start is before
//       1970-01-01T00:00:01Z) and duration (µs, rounded, at least 1 when positive)
//
// Fields appear in Zipkin's own order (traceId, parentId, id, kind, name, timestamp, duration,
// localEndpoint, remoteEndpoint, annotations, tags); empty ones are left out; tags are sorted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/span.h"

namespace teletrace::api::zipkin {

struct ZipkinEndpoint {
  std::string service_name;
  std::string ipv4;
  std::string ipv6;
  uint16_t port = 0;

  bool Empty() const { return service_name.empty() && ipv4.empty() && ipv6.empty() && port == 0; }
};

struct ZipkinAnnotation {
  uint64_t timestamp_micros = 0;
  std::string value;
};

// A span in Zipkin's model; also what annotationQuery terms are checked against.
struct ZipkinSpan {
  std::string trace_id;   // 16 hex digits when the high half is zero, else 32
  std::string parent_id;  // "" for a root
  std::string id;
  std::string kind;  // CLIENT, SERVER, PRODUCER, CONSUMER or ""
  std::string name;
  std::optional<uint64_t> timestamp_micros;
  uint64_t duration_micros = 0;  // 0 = absent
  ZipkinEndpoint local_endpoint;
  ZipkinEndpoint remote_endpoint;
  std::vector<ZipkinAnnotation> annotations;
  std::map<std::string, std::string> tags;
};

// The Zipkin form of one stored span. Pure; thread safe.
ZipkinSpan ToZipkinSpan(const model::StoredSpan& span);

// Appends the span as one JSON object.
void AppendZipkinSpan(std::string* out, const ZipkinSpan& span);

// Zipkin's trace id text for `id` (16 hex digits when the high 64 bits are zero, else 32).
std::string ZipkinTraceIdHex(const TraceId& id);

}  // namespace teletrace::api::zipkin
