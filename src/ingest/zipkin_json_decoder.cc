#include "ingest/zipkin_json_decoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/ip_address.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace teletrace::ingest {
namespace {

using Json = nlohmann::json;
using Tags = std::map<std::string, std::string>;  // sorted: attribute order is deterministic

// The Collector's marker for a span without a local service name (tracetranslator).
constexpr std::string_view kNoServiceName = "OTLPResourceNoServiceName";
constexpr std::string_view kServiceNameSource = "otlp.service.name.source";
constexpr std::string_view kStartTimeAbsent = "otel.zipkin.absentField.startTime";
constexpr std::string_view kLibraryName = "otel.library.name";
constexpr std::string_view kLibraryVersion = "otel.library.version";

// Tags the Collector never turns into span attributes: the resource semantic conventions (semconv
// v1.15, moved to the resource) and its own markers (dropped). Sorted for binary search.
constexpr std::string_view kNonSpanTags[] = {
    "aws.ecs.cluster.arn", "aws.ecs.container.arn", "aws.ecs.launchtype", "aws.ecs.task.arn",
    "aws.ecs.task.family", "aws.ecs.task.revision", "aws.eks.cluster.arn", "aws.log.group.arns",
    "aws.log.group.names", "aws.log.stream.arns", "aws.log.stream.names", "cloud.account.id",
    "cloud.availability_zone", "cloud.platform", "cloud.provider", "cloud.region", "container.id",
    "container.image.name", "container.image.tag", "container.name", "container.runtime",
    "deployment.environment", "device.id", "device.manufacturer", "device.model.identifier",
    "device.model.name", "faas.id", "faas.instance", "faas.max_memory", "faas.name",
    "faas.version", "host.arch", "host.id", "host.image.id", "host.image.name",
    "host.image.version", "host.name", "host.type", "k8s.cluster.name", "k8s.container.name",
    "k8s.container.restart_count", "k8s.cronjob.name", "k8s.cronjob.uid", "k8s.daemonset.name",
    "k8s.daemonset.uid", "k8s.deployment.name", "k8s.deployment.uid", "k8s.job.name",
    "k8s.job.uid", "k8s.namespace.name", "k8s.node.name", "k8s.node.uid", "k8s.pod.name",
    "k8s.pod.uid", "k8s.replicaset.name", "k8s.replicaset.uid", "k8s.statefulset.name",
    "k8s.statefulset.uid", "opencensus.exporterversion", "opencensus.resourcetype",
    "opencensus.starttime", "os.description", "os.name", "os.type", "os.version",
    "otel.library.name", "otel.library.version", "otlp.service.name.source",
    "process.command", "process.command_args", "process.command_line",
    "process.executable.name", "process.executable.path", "process.owner", "process.pid",
    "process.runtime.description", "process.runtime.name", "process.runtime.version",
    "service.instance.id", "service.name", "service.namespace", "service.version",
    "telemetry.auto.version", "telemetry.sdk.language", "telemetry.sdk.name",
    "telemetry.sdk.version", "webengine.description", "webengine.name", "webengine.version",
};

bool IsNonSpanTag(std::string_view key) {
  return std::binary_search(std::begin(kNonSpanTags), std::end(kNonSpanTags), key);
}

// Where a value sits in the request, rendered only for an error message.
absl::Status Invalid(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", path, what));
}

// Sets `key` to `value`, replacing an earlier value in place (pcommon.Map.Put semantics).
void Put(model::KeyValueList* list, std::string_view key, model::AnyValue value) {
  for (model::KeyValue& kv : *list) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  list->push_back({std::string(key), std::move(value)});
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly 2*N hex digits (either case).
template <size_t N>
bool DecodeHex(std::string_view hex, std::array<uint8_t, N>* out) {
  if (hex.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

// An endpoint address as Go's net.ParseIP reads it and net.IP.String writes it.
absl::StatusOr<std::string> CanonicalIp(const std::string& text, std::string_view path) {
  std::optional<std::string> ip = CanonicalIpAddress(text);
  if (!ip.has_value()) return Invalid(path, fmt::format("invalid IP address \"{}\"", text));
  return *std::move(ip);
}

// The member `name` of `object`, or nullptr when absent or null (null reads as absent).
const Json* Member(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status GetString(const Json& object, const std::string& path, const char* name,
                       std::string* out) {
  const Json* v = Member(object, name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return Invalid(path + "." + name, "expected a string");
  *out = v->get_ref<const std::string&>();
  return absl::OkStatus();
}

absl::Status GetBool(const Json& object, const std::string& path, const char* name) {
  const Json* v = Member(object, name);
  if (v != nullptr && !v->is_boolean()) return Invalid(path + "." + name, "expected a boolean");
  return absl::OkStatus();
}

// A non-negative JSON integer (Go decodes these fields into uint64: no fraction, no exponent).
absl::StatusOr<uint64_t> GetUnsigned(const Json& object, const std::string& path,
                                     const char* name, const char* what) {
  const Json* v = Member(object, name);
  if (v == nullptr) return uint64_t{0};
  if (!v->is_number_unsigned()) return Invalid(path + "." + name, what);
  return v->get<uint64_t>();
}

constexpr char kPositiveMicros[] = "expected a positive integer (microseconds)";
constexpr char kNonNegativeMicros[] = "expected a non-negative integer (microseconds)";

// Microseconds to nanoseconds, refusing what does not fit a signed 64-bit nanosecond time (Go
// would wrap it silently).
absl::StatusOr<uint64_t> MicrosToNanos(uint64_t micros, const std::string& path) {
  if (micros > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000) {
    return Invalid(path, "out of range");
  }
  return micros * 1000;
}

struct Endpoint {
  bool present = false;
  std::string service_name;
  std::string ip;  // canonical, ipv6 over ipv4 as the Collector's later Put wins
  uint16_t port = 0;
};

absl::StatusOr<Endpoint> DecodeEndpoint(const Json& span, const std::string& span_path,
                                        const char* name) {
  Endpoint e;
  const Json* v = Member(span, name);
  if (v == nullptr) return e;
  const std::string path = span_path + "." + name;
  if (!v->is_object()) return Invalid(path, "expected an object");
  e.present = true;
  RETURN_IF_ERROR(GetString(*v, path, "serviceName", &e.service_name));
  for (const char* field : {"ipv4", "ipv6"}) {
    std::string text;
    RETURN_IF_ERROR(GetString(*v, path, field, &text));
    if (text.empty()) continue;
    ASSIGN_OR_RETURN(e.ip, CanonicalIp(text, path + "." + field));
  }
  ASSIGN_OR_RETURN(uint64_t port,
                   GetUnsigned(*v, path, "port", "expected an integer from 0 to 65535"));
  if (port > 65535) return Invalid(path + ".port", "expected an integer from 0 to 65535");
  e.port = static_cast<uint16_t>(port);
  return e;
}

// The Collector's reading of a JSON attribute object in an annotation or link tag: strings,
// numbers (integral ones as int) and booleans; other values are skipped. Keys sorted.
absl::Status JsonAttributes(std::string_view text, const std::string& path,
                            model::KeyValueList* out) {
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Invalid(path, "attributes are not valid JSON");
  if (parsed.is_null()) return absl::OkStatus();
  if (!parsed.is_object()) return Invalid(path, "attributes must be a JSON object");
  // Object keys are unique, so plain appends (Put would make a large object quadratic).
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_string()) {
      out->push_back({key, value.get<std::string>()});
    } else if (value.is_boolean()) {
      out->push_back({key, value.get<bool>()});
    } else if (value.is_number()) {
      // Go reads every JSON number as float64 first, so precision beyond 2^53 is lost there too.
      double d = value.get<double>();
      if (std::fmod(d, 1.0) == 0.0 && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) {
        out->push_back({key, static_cast<int64_t>(d)});
      } else {
        out->push_back({key, d});
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::string_view> SplitBar(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t bar = s.find('|');
    parts.push_back(s.substr(0, bar));
    if (bar == std::string_view::npos) return parts;
    s.remove_prefix(bar + 1);
  }
}

// "name|{json}|dropped": the middle may itself hold '|'.
std::string_view JsonPart(const std::vector<std::string_view>& parts, size_t first) {
  const char* begin = parts[first].data();
  const char* end = parts[parts.size() - 2].data() + parts[parts.size() - 2].size();
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

absl::StatusOr<uint32_t> DroppedCount(std::string_view text, const std::string& path) {
  uint32_t n = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return Invalid(path, fmt::format("dropped count \"{}\" is not an unsigned integer", text));
  }
  return n;
}

// An id inside a link tag: hex of the exact length, optionally quoted; "" is all zeros.
template <size_t N>
absl::Status LinkId(std::string_view text, const std::string& path, std::array<uint8_t, N>* id) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty()) return absl::OkStatus();
  if (!DecodeHex(text, id)) {
    return Invalid(path, fmt::format("expected {} hex digits, got \"{}\"", 2 * N, text));
  }
  return absl::OkStatus();
}

absl::Status DecodeLinks(Tags* tags, const std::string& path, std::vector<model::Link>* links) {
  for (int i = 0; i < 128; ++i) {
    const std::string key = fmt::format("otlp.link.{}", i);
    auto it = tags->find(key);
    if (it == tags->end()) break;
    const std::string value = std::move(it->second);
    tags->erase(it);
    const std::string here = path + ".tags." + key;
    std::vector<std::string_view> parts = SplitBar(value);
    if (parts.size() < 5) continue;
    model::Link link;
    RETURN_IF_ERROR(LinkId(parts[0], here, &link.trace_id));
    RETURN_IF_ERROR(LinkId(parts[1], here, &link.span_id));
    link.trace_state = std::string(parts[2]);
    RETURN_IF_ERROR(JsonAttributes(JsonPart(parts, 3), here, &link.attributes));
    ASSIGN_OR_RETURN(link.dropped_attributes_count, DroppedCount(parts.back(), here));
    links->push_back(std::move(link));
  }
  return absl::OkStatus();
}

absl::Status DecodeAnnotations(const Json& span, const std::string& path,
                               std::vector<model::Event>* events) {
  const Json* list = Member(span, "annotations");
  if (list == nullptr) return absl::OkStatus();
  if (!list->is_array()) return Invalid(path + ".annotations", "expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& a = (*list)[i];
    const std::string here = fmt::format("{}.annotations[{}]", path, i);
    if (!a.is_object()) return Invalid(here, "expected an object");
    ASSIGN_OR_RETURN(uint64_t micros,
                     GetUnsigned(a, here, "timestamp", kPositiveMicros));
    if (micros == 0) return Invalid(here + ".timestamp", kPositiveMicros);
    model::Event event;
    ASSIGN_OR_RETURN(event.time_unix_nano, MicrosToNanos(micros, here + ".timestamp"));
    std::string value;
    RETURN_IF_ERROR(GetString(a, here, "value", &value));
    std::vector<std::string_view> parts = SplitBar(value);
    event.name = std::string(parts[0]);
    if (parts.size() >= 3) {
      RETURN_IF_ERROR(JsonAttributes(JsonPart(parts, 1), here + ".value", &event.attributes));
      ASSIGN_OR_RETURN(event.dropped_attributes_count,
                       DroppedCount(parts.back(), here + ".value"));
    }
    events->push_back(std::move(event));
  }
  return absl::OkStatus();
}

model::StatusCode StatusCodeFromTag(std::string_view value) {
  if (value == "STATUS_CODE_OK" || value == "Ok") return model::StatusCode::kOk;
  if (value == "STATUS_CODE_ERROR" || value == "Error") return model::StatusCode::kError;
  return model::StatusCode::kUnset;
}

// One decoded span with the resource and scope it belongs to.
struct DecodedSpan {
  std::string service;  // for ordering: the local service name or kNoServiceName
  model::Resource resource;
  model::Scope scope;
  model::Span span;
};

absl::Status DecodeSpan(const Json& z, const std::string& path, DecodedSpan* out) {
  if (!z.is_object()) return Invalid(path, "expected an object");
  model::Span& span = out->span;

  const Json* trace_id = Member(z, "traceId");
  bool trace_ok = trace_id != nullptr && trace_id->is_string();
  if (trace_ok) {
    const std::string& hex = trace_id->get_ref<const std::string&>();
    if (hex.size() == 16) {
      SpanId low{};
      trace_ok = DecodeHex(hex, &low);
      std::copy(low.begin(), low.end(), span.trace_id.begin() + 8);
    } else {
      trace_ok = DecodeHex(hex, &span.trace_id);
    }
  }
  if (!trace_ok) return Invalid(path + ".traceId", "expected 16 or 32 hex digits");
  if (IsZeroId(span.trace_id)) return Invalid(path + ".traceId", "must not be all zeros");
  const Json* id = Member(z, "id");
  if (id == nullptr || !id->is_string() || !DecodeHex(id->get<std::string>(), &span.span_id)) {
    return Invalid(path + ".id", "expected 16 hex digits");
  }
  if (IsZeroId(span.span_id)) return Invalid(path + ".id", "must not be all zeros");
  if (const Json* parent = Member(z, "parentId")) {
    SpanId parent_id{};
    if (!parent->is_string() ||
        (!parent->get_ref<const std::string&>().empty() &&
         !DecodeHex(parent->get_ref<const std::string&>(), &parent_id))) {
      return Invalid(path + ".parentId", "expected 16 hex digits");
    }
    if (parent_id != span.span_id) span.parent_span_id = parent_id;
  }
  RETURN_IF_ERROR(GetString(z, path, "name", &span.name));
  std::string kind;
  RETURN_IF_ERROR(GetString(z, path, "kind", &kind));
  RETURN_IF_ERROR(GetBool(z, path, "debug"));
  RETURN_IF_ERROR(GetBool(z, path, "shared"));
  ASSIGN_OR_RETURN(uint64_t timestamp, GetUnsigned(z, path, "timestamp", kNonNegativeMicros));
  ASSIGN_OR_RETURN(uint64_t duration, GetUnsigned(z, path, "duration", kNonNegativeMicros));
  ASSIGN_OR_RETURN(Endpoint local, DecodeEndpoint(z, path, "localEndpoint"));
  ASSIGN_OR_RETURN(Endpoint remote, DecodeEndpoint(z, path, "remoteEndpoint"));

  Tags tags;
  if (const Json* t = Member(z, "tags")) {
    if (!t->is_object()) return Invalid(path + ".tags", "expected an object of strings");
    for (const auto& [key, value] : t->items()) {
      if (!value.is_string()) return Invalid(path + ".tags." + key, "expected a string");
      tags[key] = value.get<std::string>();
    }
  }
  const bool had_tags = !tags.empty();
  const std::string library_name = tags.count(std::string(kLibraryName)) > 0
                                       ? tags[std::string(kLibraryName)]
                                       : std::string();

  // Resource: the local service name, and the resource semantic conventions among the tags.
  out->service = local.service_name.empty() ? std::string(kNoServiceName) : local.service_name;
  if (out->service != kNoServiceName) {
    model::KeyValueList& attrs = out->resource.attributes;
    auto source = tags.find(std::string(kServiceNameSource));
    std::string service_key =
        source != tags.end() && !source->second.empty() ? source->second : "service.name";
    Put(&attrs, service_key, out->service);
    if (source != tags.end()) tags.erase(source);
    if (had_tags) {
      for (auto it = tags.begin(); it != tags.end();) {
        if (IsNonSpanTag(it->first) && it->first != kLibraryName && it->first != kLibraryVersion) {
          Put(&attrs, it->first, std::move(it->second));
          it = tags.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  if (!library_name.empty()) {
    out->scope.name = library_name;
    tags.erase(std::string(kLibraryName));
    auto version = tags.find(std::string(kLibraryVersion));
    if (version != tags.end()) {
      out->scope.version = std::move(version->second);
      tags.erase(version);
    }
  }

  if (auto it = tags.find("w3c.tracestate"); it != tags.end()) {
    span.trace_state = std::move(it->second);
    tags.erase(it);
  }
  if (kind == "CLIENT") {
    span.kind = model::SpanKind::kClient;
  } else if (kind == "SERVER") {
    span.kind = model::SpanKind::kServer;
  } else if (kind == "PRODUCER") {
    span.kind = model::SpanKind::kProducer;
  } else if (kind == "CONSUMER") {
    span.kind = model::SpanKind::kConsumer;
  } else if (auto it = tags.find("span.kind"); it != tags.end()) {
    if (it->second == "internal") span.kind = model::SpanKind::kInternal;
    tags.erase(it);
  }
  if (auto it = tags.find("otel.status_code"); it != tags.end()) {
    span.status.code = StatusCodeFromTag(it->second);
    tags.erase(it);
    if (auto d = tags.find("otel.status_description"); d != tags.end()) {
      span.status.message = std::move(d->second);
      tags.erase(d);
    }
  }
  if (auto it = tags.find("error"); it != tags.end()) {
    span.status.code = model::StatusCode::kError;
    if (it->second == "true") tags.erase(it);
  }
  RETURN_IF_ERROR(DecodeLinks(&tags, path, &span.links));

  for (auto& [key, value] : tags) {
    // Keys are unique here (a map), so no Put: it would make many tags quadratic.
    if (!IsNonSpanTag(key)) span.attributes.push_back({key, std::move(value)});
  }
  if (local.present) {
    if (!local.ip.empty()) Put(&span.attributes, "net.host.ip", local.ip);
    if (local.port > 0) Put(&span.attributes, "net.host.port", int64_t{local.port});
  }
  if (remote.present) {
    if (!remote.service_name.empty()) Put(&span.attributes, "peer.service", remote.service_name);
    if (!remote.ip.empty()) Put(&span.attributes, "net.peer.ip", remote.ip);
    if (remote.port > 0) Put(&span.attributes, "net.peer.port", int64_t{remote.port});
  }

  ASSIGN_OR_RETURN(uint64_t start, MicrosToNanos(timestamp, path + ".timestamp"));
  ASSIGN_OR_RETURN(uint64_t length, MicrosToNanos(duration, path + ".duration"));
  if (start > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - length) {
    return Invalid(path + ".duration", "timestamp + duration out of range");
  }
  span.start_time_unix_nano = start;
  span.end_time_unix_nano = start + length;
  if (timestamp == 0) Put(&span.attributes, kStartTimeAbsent, true);

  return DecodeAnnotations(z, path, &span.events);
}

// Identifies a decoded resource: its attributes are all strings (service name and tags).
std::string ResourceKey(const model::Resource& resource) {
  std::string key;
  for (const model::KeyValue& kv : resource.attributes) {
    key += kv.key;
    key.push_back('\0');
    if (const auto* s = std::get_if<std::string>(&kv.value.value)) key += *s;
    key.push_back('\0');
  }
  return key;
}

absl::StatusOr<model::SpanBatch> DecodeArray(const Json& root) {
  if (!root.is_array()) return Invalid("request body", "expected a JSON array of spans");
  std::vector<DecodedSpan> decoded;
  decoded.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    if (root[i].is_null()) continue;
    DecodedSpan d;
    RETURN_IF_ERROR(DecodeSpan(root[i], fmt::format("spans[{}]", i), &d));
    decoded.push_back(std::move(d));
  }
  // The Collector orders by service name, then scope name; equal resources and scopes share one
  // ResourceSpans / ScopeSpans. Stable, so spans keep their request order within a scope.
  std::stable_sort(decoded.begin(), decoded.end(), [](const DecodedSpan& a, const DecodedSpan& b) {
    if (a.service != b.service) return a.service < b.service;
    return a.scope.name < b.scope.name;
  });
  model::SpanBatch batch;
  std::map<std::string, size_t> resource_index;              // resource key -> position
  std::vector<std::map<std::string, size_t>> scope_index;  // per resource: scope key -> position
  for (DecodedSpan& d : decoded) {
    auto [r, new_resource] = resource_index.try_emplace(ResourceKey(d.resource),
                                                        batch.resource_spans.size());
    if (new_resource) {
      batch.resource_spans.emplace_back().resource = std::move(d.resource);
      scope_index.emplace_back();
    }
    model::ResourceSpans& rs = batch.resource_spans[r->second];
    auto [s, new_scope] = scope_index[r->second].try_emplace(
        fmt::format("{}{}{}", d.scope.name, '\0', d.scope.version), rs.scope_spans.size());
    if (new_scope) rs.scope_spans.emplace_back().scope = std::move(d.scope);
    rs.scope_spans[s->second].spans.push_back(std::move(d.span));
  }
  return batch;
}

}  // namespace

absl::StatusOr<model::SpanBatch> DecodeZipkinJson(std::string_view json) {
  Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError("invalid Zipkin JSON: the body is not valid JSON");
  }
  try {
    return DecodeArray(root);
  } catch (const Json::exception& e) {
    // Every accessor above checks the type first, so this is a defect here; still never crash a
    // server on a request.
    return absl::InvalidArgumentError(fmt::format("invalid Zipkin JSON: {}", e.what()));
  }
}

}  // namespace teletrace::ingest
