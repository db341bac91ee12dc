// The OTLP/JSON decoder that served until simdjson replaced it (nlohmann::json's DOM), kept for
// tests only: the differential test and fuzzer decode the same text through it and through
// DecodeOtlpJson and require the same batch, the same span problems and the same error message
// (otlp_json_decoder.h lists the documented differences). Not linked into the server.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "ingest/decode_difference_for_test.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/span_problem.h"
#include "model/span.h"
#include "nlohmann/json.hpp"

namespace teletrace::ingest::reference_json {

using Json = nlohmann::json;

// Attribute values nest (arrays, key-value lists); bound the recursion over them so a hostile
// request cannot exhaust the stack.
inline constexpr int kMaxValueDepth = 64;

// Where a value sits in the request, e.g. resourceSpans[0].scopeSpans[1]. Built on the stack as the
// decoder descends and rendered only for an error message, so the happy path allocates nothing.
struct Path {
  const Path* parent = nullptr;
  const char* field = nullptr;  // set for a field step
  size_t index = 0;             // used when field is null: an array element step

  Path Field(const char* name) const { return Path{this, name, 0}; }
  Path Index(size_t i) const { return Path{this, nullptr, i}; }
};

inline std::string Render(const Path* path) {
  std::vector<const Path*> steps;
  // The root step (parent == nullptr) stands for the request itself and renders as nothing.
  for (const Path* p = path; p != nullptr && p->parent != nullptr; p = p->parent) {
    steps.push_back(p);
  }
  std::string out;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if ((*it)->field != nullptr) {
      if (!out.empty()) out += '.';
      out += (*it)->field;
    } else {
      out += fmt::format("[{}]", (*it)->index);
    }
  }
  return out.empty() ? "request body" : out;
}

inline absl::Status Invalid(const Path& path, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", Render(&path), what));
}

// The member named `camel` (or `snake`, its snake_case spelling), or nullptr when absent or null.
inline const Json* Member(const Json& object, const char* camel, const char* snake) {
  auto it = object.find(camel);
  if (it != object.end() && !it->is_null()) return &*it;
  if (snake != nullptr) {
    it = object.find(snake);
    if (it != object.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

inline absl::Status GetString(const Json& object, const Path& path, const char* camel,
                              const char* snake, std::string* out) {
  const Json* v = Member(object, camel, snake);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return Invalid(path.Field(camel), "expected a string");
  *out = v->get_ref<const std::string&>();
  return absl::OkStatus();
}

// A 64-bit integer given as a JSON number or as a decimal string (both are legal OTLP/JSON).
template <typename Int>
inline absl::Status ParseInteger(const Json& v, const Path& path, Int* out) {
  if (v.is_number_unsigned()) {
    auto n = v.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
      return Invalid(path, fmt::format("{} is out of range", n));
    }
    *out = static_cast<Int>(n);
    return absl::OkStatus();
  }
  if (v.is_number_integer()) {
    auto n = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<Int>) {
      if (n < 0) return Invalid(path, fmt::format("{} is out of range", n));
      if (static_cast<uint64_t>(n) > std::numeric_limits<Int>::max()) {
        return Invalid(path, fmt::format("{} is out of range", n));
      }
    }
    *out = static_cast<Int>(n);
    return absl::OkStatus();
  }
  if (v.is_number_float()) {
    // JavaScript encoders may write large integers in exponent form; accept exact integers only.
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) &&
        d >= static_cast<double>(std::numeric_limits<Int>::min()) &&
        d < static_cast<double>(std::numeric_limits<Int>::max())) {
      *out = static_cast<Int>(d);
      return absl::OkStatus();
    }
    return Invalid(path, fmt::format("{} is not an integer in range", v.dump()));
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    Int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
      return Invalid(path, fmt::format("\"{}\" is not an integer in range", s.substr(0, 40)));
    }
    *out = n;
    return absl::OkStatus();
  }
  return Invalid(path, "expected an integer (number or string)");
}

template <typename Int>
inline absl::Status GetInteger(const Json& object, const Path& path, const char* camel,
                               const char* snake, Int* out) {
  const Json* v = Member(object, camel, snake);
  if (v == nullptr) return absl::OkStatus();
  return ParseInteger(*v, path.Field(camel), out);
}

// An enum as its integer value (the OTLP/JSON form) or its protobuf name. Integers outside
// [0, names.size()) read as 0 (unspecified), as protobuf's open enums would.
inline absl::Status GetEnum(const Json& object, const Path& path, const char* camel,
                            const std::vector<std::string_view>& names, int* out) {
  const Json* v = Member(object, camel, nullptr);
  if (v == nullptr) return absl::OkStatus();
  Path here = path.Field(camel);
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    for (size_t i = 0; i < names.size(); ++i) {
      if (s == names[i]) {
        *out = static_cast<int>(i);
        return absl::OkStatus();
      }
    }
    return Invalid(here, fmt::format("unknown value \"{}\"", s.substr(0, 40)));
  }
  int64_t n = 0;
  RETURN_IF_ERROR(ParseInteger(*v, here, &n));
  *out = n >= 0 && n < static_cast<int64_t>(names.size()) ? static_cast<int>(n) : 0;
  return absl::OkStatus();
}

// Reads a hex id. Absent or "" is all zeros. Anything else that is not 2N hex digits is a problem
// of the span (recorded in `*why`, first problem wins), not of the request.
template <size_t N>
inline absl::Status GetId(const Json& object, const Path& path, const char* camel,
                          const char* snake, std::string_view what, std::array<uint8_t, N>* id,
                          std::string* why) {
  std::string hex;
  RETURN_IF_ERROR(GetString(object, path, camel, snake, &hex));
  if (hex.empty()) return absl::OkStatus();
  bool ok;
  if constexpr (N == 16) {
    auto parsed = ParseTraceIdHex(hex);
    ok = parsed.ok();
    if (ok) *id = *parsed;
  } else {
    auto parsed = ParseSpanIdHex(hex);
    ok = parsed.ok();
    if (ok) *id = *parsed;
  }
  if (!ok && why->empty()) {
    std::string shown = hex.size() > 48 ? hex.substr(0, 48) + "..." : hex;
    *why = fmt::format("{} \"{}\" is not {} hex characters: OTLP/JSON ids must be hex, not base64",
                       what, shown, 2 * N);
  }
  return absl::OkStatus();
}

inline absl::Status DecodeAnyValue(const Json& v, const Path& path, int depth,
                                   model::AnyValue* out);

inline absl::Status DecodeKeyValues(const Json& list, const Path& path, int depth,
                                    model::KeyValueList* out) {
  if (!list.is_array()) return Invalid(path, "expected an array");
  out->reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& item = list[i];
    Path here = path.Index(i);
    if (!item.is_object()) return Invalid(here, "expected an object");
    model::KeyValue kv;
    RETURN_IF_ERROR(GetString(item, here, "key", nullptr, &kv.key));
    if (const Json* value = Member(item, "value", nullptr)) {
      RETURN_IF_ERROR(DecodeAnyValue(*value, here.Field("value"), depth + 1, &kv.value));
    }
    out->push_back(std::move(kv));
  }
  return absl::OkStatus();
}

inline absl::Status GetAttributes(const Json& object, const Path& path, const char* camel,
                                  model::KeyValueList* out) {
  const Json* v = Member(object, camel, nullptr);
  if (v == nullptr) return absl::OkStatus();
  return DecodeKeyValues(*v, path.Field(camel), 0, out);
}

inline absl::Status DecodeDouble(const Json& v, const Path& path, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return absl::OkStatus();
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
      *out = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
      *out = -std::numeric_limits<double>::infinity();
    } else {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return Invalid(path, fmt::format("\"{}\" is not a number", s.substr(0, 40)));
      }
    }
    return absl::OkStatus();
  }
  return Invalid(path, "expected a number");
}

inline absl::Status DecodeAnyValue(const Json& v, const Path& path, int depth,
                                   model::AnyValue* out) {
  if (depth > kMaxValueDepth) {
    return Invalid(path, fmt::format("nested more than {} levels deep", kMaxValueDepth));
  }
  if (!v.is_object()) return Invalid(path, "expected an object");
  if (const Json* s = Member(v, "stringValue", "string_value")) {
    if (!s->is_string()) return Invalid(path.Field("stringValue"), "expected a string");
    *out = model::AnyValue(s->get<std::string>());
  } else if (const Json* b = Member(v, "boolValue", "bool_value")) {
    if (!b->is_boolean()) return Invalid(path.Field("boolValue"), "expected a boolean");
    *out = model::AnyValue(b->get<bool>());
  } else if (const Json* i = Member(v, "intValue", "int_value")) {
    int64_t n = 0;
    RETURN_IF_ERROR(ParseInteger(*i, path.Field("intValue"), &n));
    *out = model::AnyValue(n);
  } else if (const Json* d = Member(v, "doubleValue", "double_value")) {
    double x = 0;
    RETURN_IF_ERROR(DecodeDouble(*d, path.Field("doubleValue"), &x));
    *out = model::AnyValue(x);
  } else if (const Json* bytes = Member(v, "bytesValue", "bytes_value")) {
    Path here = path.Field("bytesValue");
    if (!bytes->is_string()) return Invalid(here, "expected a base64 string");
    const auto& text = bytes->get_ref<const std::string&>();
    absl::string_view view(text.data(), text.size());
    std::string raw;
    // Protobuf's JSON mapping accepts both the standard and the URL-safe alphabet.
    if (!absl::Base64Unescape(view, &raw) && !absl::WebSafeBase64Unescape(view, &raw)) {
      return Invalid(here, "invalid base64");
    }
    *out = model::AnyValue(model::Bytes{std::move(raw)});
  } else if (const Json* array = Member(v, "arrayValue", "array_value")) {
    Path here = path.Field("arrayValue");
    if (!array->is_object()) return Invalid(here, "expected an object");
    model::ArrayValue values;
    if (const Json* list = Member(*array, "values", nullptr)) {
      Path list_path = here.Field("values");
      if (!list->is_array()) return Invalid(list_path, "expected an array");
      values.reserve(list->size());
      for (size_t k = 0; k < list->size(); ++k) {
        RETURN_IF_ERROR(
            DecodeAnyValue((*list)[k], list_path.Index(k), depth + 1, &values.emplace_back()));
      }
    }
    *out = model::AnyValue(std::move(values));
  } else if (const Json* kvlist = Member(v, "kvlistValue", "kvlist_value")) {
    Path here = path.Field("kvlistValue");
    if (!kvlist->is_object()) return Invalid(here, "expected an object");
    model::KeyValueList values;
    if (const Json* list = Member(*kvlist, "values", nullptr)) {
      RETURN_IF_ERROR(DecodeKeyValues(*list, here.Field("values"), depth + 1, &values));
    }
    *out = model::AnyValue(std::move(values));
  } else {
    *out = model::AnyValue();  // OTLP's empty value
  }
  return absl::OkStatus();
}

inline const std::vector<std::string_view>& SpanKindNames() {
  static const auto* names = new std::vector<std::string_view>{
      "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
      "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
  return *names;
}

inline const std::vector<std::string_view>& StatusCodeNames() {
  static const auto* names =
      new std::vector<std::string_view>{"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
  return *names;
}

// Returns the array member `camel`/`snake` (nullptr when absent), or an error when not an array.
inline absl::StatusOr<const Json*> GetArray(const Json& object, const Path& path, const char* camel,
                                            const char* snake) {
  const Json* v = Member(object, camel, snake);
  if (v != nullptr && !v->is_array()) return Invalid(path.Field(camel), "expected an array");
  return v;
}

inline absl::Status DecodeEvent(const Json& in, const Path& path, model::Event* event) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  RETURN_IF_ERROR(GetInteger(in, path, "timeUnixNano", "time_unix_nano", &event->time_unix_nano));
  RETURN_IF_ERROR(GetString(in, path, "name", nullptr, &event->name));
  RETURN_IF_ERROR(GetAttributes(in, path, "attributes", &event->attributes));
  RETURN_IF_ERROR(GetInteger(in, path, "droppedAttributesCount", "dropped_attributes_count",
                             &event->dropped_attributes_count));
  return absl::OkStatus();
}

inline absl::Status DecodeLink(const Json& in, const Path& path, size_t index, model::Link* link,
                               std::string* why) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  RETURN_IF_ERROR(GetId(in, path, "traceId", "trace_id", fmt::format("link {} trace id", index),
                        &link->trace_id, why));
  RETURN_IF_ERROR(GetId(in, path, "spanId", "span_id", fmt::format("link {} span id", index),
                        &link->span_id, why));
  RETURN_IF_ERROR(GetString(in, path, "traceState", "trace_state", &link->trace_state));
  RETURN_IF_ERROR(GetAttributes(in, path, "attributes", &link->attributes));
  RETURN_IF_ERROR(GetInteger(in, path, "droppedAttributesCount", "dropped_attributes_count",
                             &link->dropped_attributes_count));
  RETURN_IF_ERROR(GetInteger(in, path, "flags", nullptr, &link->flags));
  return absl::OkStatus();
}

inline absl::Status DecodeSpan(const Json& in, const Path& path, model::Span* span,
                               std::string* why) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  RETURN_IF_ERROR(GetId(in, path, "traceId", "trace_id", "trace id", &span->trace_id, why));
  RETURN_IF_ERROR(GetId(in, path, "spanId", "span_id", "span id", &span->span_id, why));
  RETURN_IF_ERROR(GetId(in, path, "parentSpanId", "parent_span_id", "parent span id",
                        &span->parent_span_id, why));
  RETURN_IF_ERROR(GetString(in, path, "traceState", "trace_state", &span->trace_state));
  RETURN_IF_ERROR(GetInteger(in, path, "flags", nullptr, &span->flags));
  RETURN_IF_ERROR(GetString(in, path, "name", nullptr, &span->name));
  int kind = 0;
  RETURN_IF_ERROR(GetEnum(in, path, "kind", SpanKindNames(), &kind));
  span->kind = static_cast<model::SpanKind>(kind);
  RETURN_IF_ERROR(GetInteger(in, path, "startTimeUnixNano", "start_time_unix_nano",
                             &span->start_time_unix_nano));
  RETURN_IF_ERROR(
      GetInteger(in, path, "endTimeUnixNano", "end_time_unix_nano", &span->end_time_unix_nano));
  RETURN_IF_ERROR(GetAttributes(in, path, "attributes", &span->attributes));
  RETURN_IF_ERROR(GetInteger(in, path, "droppedAttributesCount", "dropped_attributes_count",
                             &span->dropped_attributes_count));
  ASSIGN_OR_RETURN(const Json* events, GetArray(in, path, "events", nullptr));
  if (events != nullptr) {
    Path events_path = path.Field("events");
    span->events.resize(events->size());
    for (size_t i = 0; i < events->size(); ++i) {
      RETURN_IF_ERROR(DecodeEvent((*events)[i], events_path.Index(i), &span->events[i]));
    }
  }
  RETURN_IF_ERROR(GetInteger(in, path, "droppedEventsCount", "dropped_events_count",
                             &span->dropped_events_count));
  ASSIGN_OR_RETURN(const Json* links, GetArray(in, path, "links", nullptr));
  if (links != nullptr) {
    Path links_path = path.Field("links");
    span->links.resize(links->size());
    for (size_t i = 0; i < links->size(); ++i) {
      RETURN_IF_ERROR(DecodeLink((*links)[i], links_path.Index(i), i, &span->links[i], why));
    }
  }
  RETURN_IF_ERROR(
      GetInteger(in, path, "droppedLinksCount", "dropped_links_count", &span->dropped_links_count));
  if (const Json* status = Member(in, "status", nullptr)) {
    Path status_path = path.Field("status");
    if (!status->is_object()) return Invalid(status_path, "expected an object");
    RETURN_IF_ERROR(GetString(*status, status_path, "message", nullptr, &span->status.message));
    int code = 0;
    RETURN_IF_ERROR(GetEnum(*status, status_path, "code", StatusCodeNames(), &code));
    span->status.code = static_cast<model::StatusCode>(code);
  }
  return absl::OkStatus();
}

inline absl::Status DecodeRequest(const Json& root, SpanProblems* problems,
                                  model::SpanBatch* batch) {
  Path root_path;
  if (!root.is_object()) return Invalid(root_path, "expected a JSON object");
  ASSIGN_OR_RETURN(const Json* resource_spans,
                   GetArray(root, root_path, "resourceSpans", "resource_spans"));
  if (resource_spans == nullptr) return absl::OkStatus();
  Path rs_list = root_path.Field("resourceSpans");
  batch->resource_spans.resize(resource_spans->size());
  for (size_t r = 0; r < resource_spans->size(); ++r) {
    const Json& in_rs = (*resource_spans)[r];
    Path rs_path = rs_list.Index(r);
    if (!in_rs.is_object()) return Invalid(rs_path, "expected an object");
    model::ResourceSpans& rs = batch->resource_spans[r];
    if (const Json* resource = Member(in_rs, "resource", nullptr)) {
      Path res_path = rs_path.Field("resource");
      if (!resource->is_object()) return Invalid(res_path, "expected an object");
      RETURN_IF_ERROR(GetAttributes(*resource, res_path, "attributes", &rs.resource.attributes));
      RETURN_IF_ERROR(GetInteger(*resource, res_path, "droppedAttributesCount",
                                 "dropped_attributes_count",
                                 &rs.resource.dropped_attributes_count));
    }
    RETURN_IF_ERROR(GetString(in_rs, rs_path, "schemaUrl", "schema_url", &rs.resource.schema_url));
    ASSIGN_OR_RETURN(const Json* scope_spans,
                     GetArray(in_rs, rs_path, "scopeSpans", "scope_spans"));
    if (scope_spans == nullptr) continue;
    Path ss_list = rs_path.Field("scopeSpans");
    rs.scope_spans.resize(scope_spans->size());
    for (size_t s = 0; s < scope_spans->size(); ++s) {
      const Json& in_ss = (*scope_spans)[s];
      Path ss_path = ss_list.Index(s);
      if (!in_ss.is_object()) return Invalid(ss_path, "expected an object");
      model::ScopeSpans& ss = rs.scope_spans[s];
      if (const Json* scope = Member(in_ss, "scope", nullptr)) {
        Path scope_path = ss_path.Field("scope");
        if (!scope->is_object()) return Invalid(scope_path, "expected an object");
        RETURN_IF_ERROR(GetString(*scope, scope_path, "name", nullptr, &ss.scope.name));
        RETURN_IF_ERROR(GetString(*scope, scope_path, "version", nullptr, &ss.scope.version));
        RETURN_IF_ERROR(GetAttributes(*scope, scope_path, "attributes", &ss.scope.attributes));
        RETURN_IF_ERROR(GetInteger(*scope, scope_path, "droppedAttributesCount",
                                   "dropped_attributes_count", &ss.scope.dropped_attributes_count));
      }
      RETURN_IF_ERROR(GetString(in_ss, ss_path, "schemaUrl", "schema_url", &ss.scope.schema_url));
      ASSIGN_OR_RETURN(const Json* spans, GetArray(in_ss, ss_path, "spans", nullptr));
      if (spans == nullptr) continue;
      Path span_list = ss_path.Field("spans");
      ss.spans.resize(spans->size());
      for (size_t i = 0; i < spans->size(); ++i) {
        std::string why;
        RETURN_IF_ERROR(DecodeSpan((*spans)[i], span_list.Index(i), &ss.spans[i], &why));
        if (!why.empty()) {
          ss.spans[i].trace_id = TraceId{};
          if (problems != nullptr) problems->push_back(SpanProblem{r, s, i, std::move(why)});
        }
      }
    }
  }
  return absl::OkStatus();
}

// nlohmann prefixes messages with "[json.exception.<kind>.<id>] "; the rest names the position.
inline std::string ParserMessage(const char* what) {
  std::string_view message(what);
  if (!message.empty() && message.front() == '[') {
    size_t close = message.find("] ");
    if (close != std::string_view::npos) message.remove_prefix(close + 2);
  }
  return std::string(message);
}

inline absl::StatusOr<model::SpanBatch> DecodeOtlpJson(std::string_view json,
                                                       SpanProblems* problems) {
  Json root;
  try {
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("invalid OTLP JSON: {}", ParserMessage(e.what())));
  }
  model::SpanBatch batch;
  SpanProblems found;
  try {
    RETURN_IF_ERROR(DecodeRequest(root, &found, &batch));
  } catch (const Json::exception& e) {
    // The accessors above check types first, so this is a defect here; still never crash a server
    // on a request.
    return absl::InvalidArgumentError(
        fmt::format("invalid OTLP JSON: {}", ParserMessage(e.what())));
  }
  if (problems != nullptr) {
    for (SpanProblem& p : found) problems->push_back(std::move(p));
  }
  return batch;
}

// Empty when DecodeOtlpJson and the reference decoder agree on `json` (the same batch and span
// problems, or the same error message), else what differs. The one documented difference:
// DecodeOtlpJson refuses text nested deeper than simdjson's 1024 levels, which the reference
// accepted when the nesting sat in an unknown field.
inline std::string DifferenceFromReference(std::string_view json) {
  SpanProblems new_problems, old_problems;
  absl::StatusOr<model::SpanBatch> now = ingest::DecodeOtlpJson(json, &new_problems);
  if (!now.ok() &&
      now.status().message() == "invalid OTLP JSON: nested more than 1024 levels deep") {
    return "";
  }
  absl::StatusOr<model::SpanBatch> before = reference_json::DecodeOtlpJson(json, &old_problems);
  return ingest::testing::DecodeDifference(std::move(now), new_problems, std::move(before),
                                           old_problems);
}

}  // namespace teletrace::ingest::reference_json
