#include "api/zipkin/zipkin_json.h"

#include <charconv>
#include <string_view>
#include <utility>

#include "api/jaeger/jaeger_json.h"
#include "common/ip_address.h"
#include "common/json_string.h"
#include "fmt/format.h"

namespace teletrace::api::zipkin {
namespace {

using jaeger::AttributeAsString;

constexpr std::string_view kNoServiceName = "OTLPResourceNoServiceName";

// A value as Go's encoding/json writes pcommon's AsRaw() of it, for the JSON inside annotation
// values and link tags.
void AppendRawValue(std::string* out, const model::AnyValue& value) {
  if (std::holds_alternative<std::monostate>(value.value)) {
    out->append("null");
  } else if (std::holds_alternative<std::string>(value.value) ||
             std::holds_alternative<model::Bytes>(value.value)) {
    AppendJsonString(out, AttributeAsString(value));  // bytes: base64, as Go writes []byte
  } else {
    out->append(AttributeAsString(value));  // numbers, booleans, arrays and maps: JSON already
  }
}

// {"key":value,...} sorted by key, the last occurrence of a key winning (Go marshals a map).
std::string AttributesJson(const model::KeyValueList& attributes) {
  std::map<std::string_view, const model::AnyValue*> sorted;
  for (const model::KeyValue& kv : attributes) sorted[kv.key] = &kv.value;
  std::string out = "{";
  for (const auto& [key, value] : sorted) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(&out, key);
    out.push_back(':');
    AppendRawValue(&out, *value);
  }
  out.push_back('}');
  return out;
}

// time.Time.Round(time.Microsecond) in microseconds.
uint64_t RoundMicros(uint64_t nanos) { return nanos / 1000 + (nanos % 1000 >= 500 ? 1 : 0); }

// The endpoint the exporter builds from the tags, removing the keys it used.
ZipkinEndpoint EndpointFromTags(std::map<std::string, std::string>* tags, std::string service,
                                bool remote) {
  const char* ip_key = remote ? "net.peer.ip" : "net.host.ip";
  const char* port_key = remote ? "net.peer.port" : "net.host.port";
  if (remote) {
    if (auto it = tags->find("peer.service"); it != tags->end()) service = it->second;
  }
  ZipkinEndpoint e;
  bool has_ip = false;
  if (auto it = tags->find(ip_key); it != tags->end()) {
    std::optional<std::string> ip = CanonicalIpAddress(it->second);
    if (ip.has_value()) {
      has_ip = true;
      (it->second.find(':') != std::string::npos ? e.ipv6 : e.ipv4) = *ip;
    }
  }
  if (auto it = tags->find(port_key); it != tags->end()) {
    const std::string& text = it->second;
    uint16_t port = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (error == std::errc() && end == text.data() + text.size()) e.port = port;
  }
  if (service.empty() && !has_ip) return ZipkinEndpoint{};
  e.service_name = std::move(service);
  return e;
}

void AppendEndpoint(std::string* out, const ZipkinEndpoint& e) {
  out->push_back('{');
  bool first = true;
  auto field = [&](std::string_view name) {
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(name);
    out->append("\":");
  };
  if (!e.service_name.empty()) {
    field("serviceName");
    AppendJsonString(out, e.service_name);
  }
  if (!e.ipv4.empty()) {
    field("ipv4");
    AppendJsonString(out, e.ipv4);
  }
  if (!e.ipv6.empty()) {
    field("ipv6");
    AppendJsonString(out, e.ipv6);
  }
  if (e.port != 0) {
    field("port");
    out->append(std::to_string(e.port));
  }
  out->push_back('}');
}

}  // namespace

std::string ZipkinTraceIdHex(const TraceId& id) {
  std::string hex = ToHex(id);
  return hex.compare(0, 16, "0000000000000000") == 0 ? hex.substr(16) : hex;
}

ZipkinSpan ToZipkinSpan(const model::StoredSpan& stored) {
  const model::Span& span = stored.span;
  ZipkinSpan z;
  std::map<std::string, std::string>& tags = z.tags;

  std::string service(kNoServiceName);
  if (stored.resource != nullptr && !stored.resource->attributes.empty()) {
    for (const model::KeyValue& kv : stored.resource->attributes) {
      tags[kv.key] = AttributeAsString(kv.value);
    }
    static constexpr std::string_view kSources[] = {"faas.name", "k8s.deployment.name",
                                                    "process.executable.name"};
    if (auto it = tags.find("service.name"); it != tags.end()) {
      service = std::move(it->second);
      tags.erase(it);
    } else {
      for (std::string_view source : kSources) {
        auto s = tags.find(std::string(source));
        if (s == tags.end()) continue;
        service = std::move(s->second);
        tags.erase(s);
        tags["otlp.service.name.source"] = std::string(source);
        break;
      }
    }
  }
  if (stored.scope != nullptr) {
    for (const model::KeyValue& kv : stored.scope->attributes) {
      tags[kv.key] = AttributeAsString(kv.value);
    }
    if (!stored.scope->name.empty()) tags["otel.library.name"] = stored.scope->name;
    if (!stored.scope->version.empty()) tags["otel.library.version"] = stored.scope->version;
  }
  for (const model::KeyValue& kv : span.attributes) tags[kv.key] = AttributeAsString(kv.value);

  z.trace_id = ZipkinTraceIdHex(span.trace_id);
  z.id = ToHex(span.span_id);
  if (!span.trace_state.empty()) tags["w3c.tracestate"] = span.trace_state;
  if (!IsZeroId(span.parent_span_id)) z.parent_id = ToHex(span.parent_span_id);
  z.name = span.name;
  if (span.start_time_unix_nano / 1'000'000'000 != 0) {
    z.timestamp_micros = RoundMicros(span.start_time_unix_nano);
  }
  if (span.end_time_unix_nano != 0) {
    uint64_t d = span.DurationNano();
    z.duration_micros = d == 0 ? 0 : d < 1000 ? 1 : RoundMicros(d);
  }
  switch (span.kind) {
    case model::SpanKind::kClient: z.kind = "CLIENT"; break;
    case model::SpanKind::kServer: z.kind = "SERVER"; break;
    case model::SpanKind::kProducer: z.kind = "PRODUCER"; break;
    case model::SpanKind::kConsumer: z.kind = "CONSUMER"; break;
    case model::SpanKind::kInternal: tags["span.kind"] = "internal"; break;
    case model::SpanKind::kUnspecified: break;
  }
  z.local_endpoint = EndpointFromTags(&tags, service, /*remote=*/false);
  z.remote_endpoint = EndpointFromTags(&tags, "", /*remote=*/true);
  for (const char* used :
       {"peer.service", "net.host.ip", "net.host.port", "net.peer.ip", "net.peer.port"}) {
    tags.erase(used);
  }
  if (span.status.code == model::StatusCode::kError) {
    tags["error"] = "true";
  } else {
    tags.erase("error");
  }
  if (span.status.code != model::StatusCode::kUnset) {
    tags["otel.status_code"] =
        span.status.code == model::StatusCode::kOk ? "STATUS_CODE_OK" : "STATUS_CODE_ERROR";
    if (!span.status.message.empty()) tags["otel.status_description"] = span.status.message;
  }
  for (const model::Event& event : span.events) {
    ZipkinAnnotation& a = z.annotations.emplace_back();
    a.timestamp_micros = RoundMicros(event.time_unix_nano);
    a.value = event.attributes.empty() && event.dropped_attributes_count == 0
                  ? event.name
                  : fmt::format("{}|{}|{}", event.name, AttributesJson(event.attributes),
                                event.dropped_attributes_count);
  }
  for (size_t i = 0; i < span.links.size(); ++i) {
    const model::Link& link = span.links[i];
    tags[fmt::format("otlp.link.{}", i)] = fmt::format(
        "{}|{}|{}|{}|{}", IsZeroId(link.trace_id) ? "" : ToHex(link.trace_id),
        IsZeroId(link.span_id) ? "" : ToHex(link.span_id), link.trace_state,
        AttributesJson(link.attributes), link.dropped_attributes_count);
  }
  return z;
}

void AppendZipkinSpan(std::string* out, const ZipkinSpan& z) {
  out->append("{\"traceId\":");
  AppendJsonString(out, z.trace_id);
  if (!z.parent_id.empty()) {
    out->append(",\"parentId\":");
    AppendJsonString(out, z.parent_id);
  }
  out->append(",\"id\":");
  AppendJsonString(out, z.id);
  if (!z.kind.empty()) {
    out->append(",\"kind\":");
    AppendJsonString(out, z.kind);
  }
  if (!z.name.empty()) {
    out->append(",\"name\":");
    AppendJsonString(out, z.name);
  }
  if (z.timestamp_micros.has_value()) {
    out->append(fmt::format(",\"timestamp\":{}", *z.timestamp_micros));
  }
  if (z.duration_micros != 0) out->append(fmt::format(",\"duration\":{}", z.duration_micros));
  if (!z.local_endpoint.Empty()) {
    out->append(",\"localEndpoint\":");
    AppendEndpoint(out, z.local_endpoint);
  }
  if (!z.remote_endpoint.Empty()) {
    out->append(",\"remoteEndpoint\":");
    AppendEndpoint(out, z.remote_endpoint);
  }
  if (!z.annotations.empty()) {
    out->append(",\"annotations\":[");
    for (size_t i = 0; i < z.annotations.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(fmt::format("{{\"timestamp\":{},\"value\":", z.annotations[i].timestamp_micros));
      AppendJsonString(out, z.annotations[i].value);
      out->push_back('}');
    }
    out->push_back(']');
  }
  if (!z.tags.empty()) {
    out->append(",\"tags\":{");
    bool first = true;
    for (const auto& [key, value] : z.tags) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(out, key);
      out->push_back(':');
      AppendJsonString(out, value);
    }
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace teletrace::api::zipkin
