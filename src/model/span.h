// The span model: what every receiver decodes into and every backend stores. OTLP-shaped (resource,
// scope, span, events, links, typed attribute values) with binary ids and nanosecond times, and no
// dependency on protobuf or JSON.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/ids.h"

namespace teletrace::model {

struct AnyValue;
struct KeyValue;
using ArrayValue = std::vector<AnyValue>;
using KeyValueList = std::vector<KeyValue>;

// Raw bytes, kept apart from std::string so a bytes attribute never reads back as a string.
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

// A typed attribute value. monostate is OTLP's empty AnyValue.
//
// The converting constructors are implicit by design, so values read like literals
// (`{"http.status_code", 200}`). They are declared here and defined below KeyValue: the variant
// holds vectors of AnyValue and KeyValue, and a constructor body instantiates their destructors,
// which clang (unlike gcc) does at once, while KeyValue is still incomplete. The template takes
// only what the variant itself accepts, and never an AnyValue, so is_constructible<AnyValue, X>
// is true exactly when the value can be built, and copies always use the copy constructor.
struct AnyValue {
  using Variant =
      std::variant<std::monostate, std::string, bool, int64_t, double, Bytes, ArrayValue,
                   KeyValueList>;
  Variant value;

  AnyValue() = default;
  template <typename T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, AnyValue> &&
             std::is_constructible_v<Variant, T>)
  AnyValue(T v);            // NOLINT(google-explicit-constructor)
  AnyValue(const char* s);  // NOLINT(google-explicit-constructor)
  AnyValue(int v);          // NOLINT(google-explicit-constructor)

  bool operator==(const AnyValue&) const;
};

struct KeyValue {
  std::string key;
  AnyValue value;
  bool operator==(const KeyValue&) const = default;
};

template <typename T>
  requires(!std::is_same_v<std::remove_cvref_t<T>, AnyValue> &&
           std::is_constructible_v<AnyValue::Variant, T>)
inline AnyValue::AnyValue(T v) : value(std::move(v)) {}
inline AnyValue::AnyValue(const char* s) : value(std::string(s)) {}
inline AnyValue::AnyValue(int v) : value(int64_t{v}) {}

enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

struct Resource {
  KeyValueList attributes;
  uint32_t dropped_attributes_count = 0;
  std::string schema_url;
  bool operator==(const Resource&) const = default;
};

struct Scope {
  std::string name;
  std::string version;
  KeyValueList attributes;
  uint32_t dropped_attributes_count = 0;
  std::string schema_url;
  bool operator==(const Scope&) const = default;
};

struct Event {
  uint64_t time_unix_nano = 0;
  std::string name;
  KeyValueList attributes;
  uint32_t dropped_attributes_count = 0;
  bool operator==(const Event&) const = default;
};

struct Link {
  TraceId trace_id{};
  SpanId span_id{};
  std::string trace_state;
  KeyValueList attributes;
  uint32_t dropped_attributes_count = 0;
  uint32_t flags = 0;
  bool operator==(const Link&) const = default;
};

struct Status {
  std::string message;
  StatusCode code = StatusCode::kUnset;
  bool operator==(const Status&) const = default;
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  std::string trace_state;
  SpanId parent_span_id{};  // all zero for a root span
  uint32_t flags = 0;
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  KeyValueList attributes;
  uint32_t dropped_attributes_count = 0;
  std::vector<Event> events;
  uint32_t dropped_events_count = 0;
  std::vector<Link> links;
  uint32_t dropped_links_count = 0;
  Status status;

  uint64_t DurationNano() const {
    return end_time_unix_nano >= start_time_unix_nano ? end_time_unix_nano - start_time_unix_nano
                                                      : 0;
  }
  bool operator==(const Span&) const = default;
};

struct ScopeSpans {
  Scope scope;
  std::vector<Span> spans;
  bool operator==(const ScopeSpans&) const = default;
};

struct ResourceSpans {
  Resource resource;
  std::vector<ScopeSpans> scope_spans;
  bool operator==(const ResourceSpans&) const = default;
};

// What one Export request (or one stored block) carries.
struct SpanBatch {
  std::vector<ResourceSpans> resource_spans;

  size_t SpanCount() const;
  bool operator==(const SpanBatch&) const = default;
};

// A span as read back from storage: the span with its resource and scope (shared between the
// spans of one block, so a 100k-span trace does not copy them 100k times) and when it was stored.
struct StoredSpan {
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const Scope> scope;
  Span span;
  uint64_t ingestion_time_unix_nano = 0;
};

// Flattens a batch into stored spans stamped with `ingestion_time_unix_nano`.
std::vector<StoredSpan> Flatten(SpanBatch batch, uint64_t ingestion_time_unix_nano);

// Returns the value of `key` in `attributes`, or nullptr. The last occurrence wins, as in the SDKs.
const AnyValue* FindAttribute(const KeyValueList& attributes, std::string_view key);

// The resource's `service.name` when it is a string, else "".
std::string_view ServiceName(const Resource& resource);
// The span's resource's `service.name`; "" also when the span carries no resource (a projection
// that left resources out).
std::string_view ServiceName(const StoredSpan& span);

}  // namespace teletrace::model
