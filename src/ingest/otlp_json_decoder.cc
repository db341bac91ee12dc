#include "ingest/otlp_json_decoder.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"

namespace teletrace::ingest {
namespace {

namespace dom = simdjson::dom;

// Attribute values nest (arrays, key-value lists); bound the recursion over them so a hostile
// request cannot exhaust the stack.
constexpr int kMaxValueDepth = 64;

// A thread's parser keeps its buffers for the next request up to this document size; one that grew
// past it for a larger request is freed afterwards, so the memory kept per decoding thread is
// bounded (simdjson needs ~15 bytes per byte of input at most).
constexpr size_t kKeptParserCapacity = 1 << 20;

// Where a value sits in the request, e.g. resourceSpans[0].scopeSpans[1]. Built on the stack as the
// decoder descends and rendered only for an error message, so the happy path allocates nothing.
struct Path {
  const Path* parent = nullptr;
  const char* field = nullptr;  // set for a field step
  size_t index = 0;             // used when field is null: an array element step

  Path Field(const char* name) const { return Path{this, name, 0}; }
  Path Index(size_t i) const { return Path{this, nullptr, i}; }
};

std::string Render(const Path* path) {
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

// The value of `v` as a T; the caller has checked its type.
template <typename T>
T As(const dom::element& v) {
  T out{};
  if (v.get(out) != simdjson::SUCCESS) return T{};
  return out;
}

absl::Status Invalid(const Path& path, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", Render(&path), what));
}

// A double as JSON text in the form the decoder's messages have always used (shortest round trip;
// fixed notation with a ".0" for integral values when the decimal point falls within 15 digits,
// e.g. 5000000000.0 or 0.001; else d.ddde±XX), so that an error names the number as before.
std::string NumberText(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (ec != std::errc()) return fmt::format("{}", d);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  std::string sign;
  if (!text.empty() && text.front() == '-') {
    sign = "-";
    text.remove_prefix(1);
  }
  size_t e = text.find('e');
  std::string digits(text.substr(0, e));
  if (digits.size() > 1) digits.erase(1, 1);  // the '.'
  int exponent = 0;
  std::string_view exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  // Scientific d.ddd x 10^exponent: the decimal point sits after `point` digits.
  int k = static_cast<int>(digits.size());
  int point = exponent + 1;
  if (k <= point && point <= 15) return sign + digits + std::string(point - k, '0') + ".0";
  if (0 < point && point <= 15) return sign + digits.substr(0, point) + "." + digits.substr(point);
  if (-4 < point && point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  std::string mantissa = k == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  int shown = point - 1;
  return fmt::format("{}{}e{}{:02}", sign, mantissa, shown < 0 ? '-' : '+', std::abs(shown));
}

// The known members of one JSON object, each by its lowerCamelCase name and, when it has one, its
// snake_case spelling.
struct FieldName {
  std::string_view camel;
  std::string_view snake;
};

// One pass over an object's members that keeps, for each known name, its last occurrence (what a
// JSON object with a repeated key means); unknown members are skipped. Get(i) is the camelCase
// value when present and not null, else the snake_case one, else null: JSON null reads as absent.
template <size_t N>
class Members {
 public:
  Members(const dom::object& object, const std::array<FieldName, N>& names) {
    for (dom::key_value_pair member : object) {
      for (size_t i = 0; i < N; ++i) {
        if (member.key == names[i].camel) {
          camel_[i] = member.value;
          has_camel_ |= uint64_t{1} << i;
          break;
        }
        if (!names[i].snake.empty() && member.key == names[i].snake) {
          snake_[i] = member.value;
          has_snake_ |= uint64_t{1} << i;
          break;
        }
      }
    }
  }

  const dom::element* Get(size_t i) const {
    if ((has_camel_ >> i & 1) != 0 && !camel_[i].is_null()) return &camel_[i];
    if ((has_snake_ >> i & 1) != 0 && !snake_[i].is_null()) return &snake_[i];
    return nullptr;
  }

 private:
  static_assert(N <= 64);
  std::array<dom::element, N> camel_;
  std::array<dom::element, N> snake_;
  uint64_t has_camel_ = 0;
  uint64_t has_snake_ = 0;
};

absl::Status GetString(const dom::element* v, const Path& path, const char* camel,
                       std::string* out) {
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return Invalid(path.Field(camel), "expected a string");
  *out = std::string(As<std::string_view>(*v));
  return absl::OkStatus();
}

// A 64-bit integer given as a JSON number or as a decimal string (both are legal OTLP/JSON).
template <typename Int>
absl::Status ParseInteger(const dom::element& v, const Path& path, Int* out) {
  switch (v.type()) {
    case dom::element_type::UINT64: {  // only above INT64_MAX
      uint64_t n = As<uint64_t>(v);
      if (n > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
        return Invalid(path, fmt::format("{} is out of range", n));
      }
      *out = static_cast<Int>(n);
      return absl::OkStatus();
    }
    case dom::element_type::INT64: {
      int64_t n = As<int64_t>(v);
      if constexpr (std::is_unsigned_v<Int>) {
        if (n < 0 || static_cast<uint64_t>(n) > std::numeric_limits<Int>::max()) {
          return Invalid(path, fmt::format("{} is out of range", n));
        }
      }
      *out = static_cast<Int>(n);
      return absl::OkStatus();
    }
    case dom::element_type::DOUBLE: {
      // JavaScript encoders may write large integers in exponent form; accept exact integers only.
      double d = As<double>(v);
      if (std::isfinite(d) && d == std::floor(d) &&
          d >= static_cast<double>(std::numeric_limits<Int>::min()) &&
          d < static_cast<double>(std::numeric_limits<Int>::max())) {
        *out = static_cast<Int>(d);
        return absl::OkStatus();
      }
      return Invalid(path, fmt::format("{} is not an integer in range", NumberText(d)));
    }
    case dom::element_type::STRING: {
      std::string_view s = As<std::string_view>(v);
      Int n = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return Invalid(path, fmt::format("\"{}\" is not an integer in range", s.substr(0, 40)));
      }
      *out = n;
      return absl::OkStatus();
    }
    default:
      return Invalid(path, "expected an integer (number or string)");
  }
}

template <typename Int>
absl::Status GetInteger(const dom::element* v, const Path& path, const char* camel, Int* out) {
  if (v == nullptr) return absl::OkStatus();
  return ParseInteger(*v, path.Field(camel), out);
}

// An enum as its integer value (the OTLP/JSON form) or its protobuf name. Integers outside
// [0, names.size()) read as 0 (unspecified), as protobuf's open enums would.
template <size_t N>
absl::Status GetEnum(const dom::element* v, const Path& path, const char* camel,
                     const std::array<std::string_view, N>& names, int* out) {
  if (v == nullptr) return absl::OkStatus();
  Path here = path.Field(camel);
  if (v->is_string()) {
    std::string_view s = As<std::string_view>(*v);
    for (size_t i = 0; i < N; ++i) {
      if (s == names[i]) {
        *out = static_cast<int>(i);
        return absl::OkStatus();
      }
    }
    return Invalid(here, fmt::format("unknown value \"{}\"", s.substr(0, 40)));
  }
  int64_t n = 0;
  RETURN_IF_ERROR(ParseInteger(*v, here, &n));
  *out = n >= 0 && n < static_cast<int64_t>(N) ? static_cast<int>(n) : 0;
  return absl::OkStatus();
}

// Reads a hex id. Absent or "" is all zeros. Anything else that is not 2N hex digits is a problem
// of the span (recorded in `*why`, first problem wins), not of the request; `what` is called for
// its description only then.
template <size_t N, typename What>
absl::Status GetId(const dom::element* v, const Path& path, const char* camel, const What& what,
                   std::array<uint8_t, N>* id, std::string* why) {
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return Invalid(path.Field(camel), "expected a string");
  std::string_view hex = As<std::string_view>(*v);
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
    std::string shown = hex.size() > 48 ? std::string(hex.substr(0, 48)) + "..." : std::string(hex);
    *why = fmt::format("{} \"{}\" is not {} hex characters: OTLP/JSON ids must be hex, not base64",
                       what(), shown, 2 * N);
  }
  return absl::OkStatus();
}

absl::Status DecodeAnyValue(const dom::element& v, const Path& path, int depth,
                            model::AnyValue* out);

constexpr std::array<FieldName, 2> kKeyValueFields = {{{"key", ""}, {"value", ""}}};

absl::Status DecodeKeyValues(const dom::element& list, const Path& path, int depth,
                             model::KeyValueList* out) {
  if (!list.is_array()) return Invalid(path, "expected an array");
  dom::array items = As<dom::array>(list);
  out->reserve(items.size());
  size_t i = 0;
  for (dom::element item : items) {
    Path here = path.Index(i++);
    if (!item.is_object()) return Invalid(here, "expected an object");
    Members<2> m(As<dom::object>(item), kKeyValueFields);
    model::KeyValue kv;
    RETURN_IF_ERROR(GetString(m.Get(0), here, "key", &kv.key));
    if (const dom::element* value = m.Get(1)) {
      RETURN_IF_ERROR(DecodeAnyValue(*value, here.Field("value"), depth + 1, &kv.value));
    }
    out->push_back(std::move(kv));
  }
  return absl::OkStatus();
}

absl::Status GetAttributes(const dom::element* v, const Path& path, const char* camel,
                           model::KeyValueList* out) {
  if (v == nullptr) return absl::OkStatus();
  return DecodeKeyValues(*v, path.Field(camel), 0, out);
}

absl::Status DecodeDouble(const dom::element& v, const Path& path, double* out) {
  switch (v.type()) {
    case dom::element_type::DOUBLE:
      *out = As<double>(v);
      return absl::OkStatus();
    case dom::element_type::INT64:
      *out = static_cast<double>(As<int64_t>(v));
      return absl::OkStatus();
    case dom::element_type::UINT64:
      *out = static_cast<double>(As<uint64_t>(v));
      return absl::OkStatus();
    case dom::element_type::STRING: {
      std::string_view s = As<std::string_view>(v);
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
    default:
      return Invalid(path, "expected a number");
  }
}

constexpr std::array<FieldName, 7> kAnyValueFields = {{{"stringValue", "string_value"},
                                                       {"boolValue", "bool_value"},
                                                       {"intValue", "int_value"},
                                                       {"doubleValue", "double_value"},
                                                       {"bytesValue", "bytes_value"},
                                                       {"arrayValue", "array_value"},
                                                       {"kvlistValue", "kvlist_value"}}};
constexpr std::array<FieldName, 1> kValuesFields = {{{"values", ""}}};

// The `values` member of an arrayValue or kvlistValue, or null; an error when not an object.
absl::StatusOr<const dom::element*> ValuesOf(const dom::element& v, const Path& here,
                                             dom::element* storage) {
  if (!v.is_object()) return Invalid(here, "expected an object");
  Members<1> m(As<dom::object>(v), kValuesFields);
  const dom::element* values = m.Get(0);
  if (values == nullptr) return nullptr;
  *storage = *values;
  return storage;
}

absl::Status DecodeAnyValue(const dom::element& v, const Path& path, int depth,
                            model::AnyValue* out) {
  if (depth > kMaxValueDepth) {
    return Invalid(path, fmt::format("nested more than {} levels deep", kMaxValueDepth));
  }
  if (!v.is_object()) return Invalid(path, "expected an object");
  Members<7> m(As<dom::object>(v), kAnyValueFields);
  if (const dom::element* s = m.Get(0)) {
    if (!s->is_string()) return Invalid(path.Field("stringValue"), "expected a string");
    *out = model::AnyValue(std::string(As<std::string_view>(*s)));
  } else if (const dom::element* b = m.Get(1)) {
    if (!b->is_bool()) return Invalid(path.Field("boolValue"), "expected a boolean");
    *out = model::AnyValue(As<bool>(*b));
  } else if (const dom::element* i = m.Get(2)) {
    int64_t n = 0;
    RETURN_IF_ERROR(ParseInteger(*i, path.Field("intValue"), &n));
    *out = model::AnyValue(n);
  } else if (const dom::element* d = m.Get(3)) {
    double x = 0;
    RETURN_IF_ERROR(DecodeDouble(*d, path.Field("doubleValue"), &x));
    *out = model::AnyValue(x);
  } else if (const dom::element* bytes = m.Get(4)) {
    Path here = path.Field("bytesValue");
    if (!bytes->is_string()) return Invalid(here, "expected a base64 string");
    std::string_view text = As<std::string_view>(*bytes);
    absl::string_view view(text.data(), text.size());
    std::string raw;
    // Protobuf's JSON mapping accepts both the standard and the URL-safe alphabet.
    if (!absl::Base64Unescape(view, &raw) && !absl::WebSafeBase64Unescape(view, &raw)) {
      return Invalid(here, "invalid base64");
    }
    *out = model::AnyValue(model::Bytes{std::move(raw)});
  } else if (const dom::element* array = m.Get(5)) {
    Path here = path.Field("arrayValue");
    dom::element storage;
    ASSIGN_OR_RETURN(const dom::element* list, ValuesOf(*array, here, &storage));
    model::ArrayValue values;
    if (list != nullptr) {
      Path list_path = here.Field("values");
      if (!list->is_array()) return Invalid(list_path, "expected an array");
      dom::array items = As<dom::array>(*list);
      values.reserve(items.size());
      size_t k = 0;
      for (dom::element item : items) {
        RETURN_IF_ERROR(
            DecodeAnyValue(item, list_path.Index(k++), depth + 1, &values.emplace_back()));
      }
    }
    *out = model::AnyValue(std::move(values));
  } else if (const dom::element* kvlist = m.Get(6)) {
    Path here = path.Field("kvlistValue");
    dom::element storage;
    ASSIGN_OR_RETURN(const dom::element* list, ValuesOf(*kvlist, here, &storage));
    model::KeyValueList values;
    if (list != nullptr) {
      RETURN_IF_ERROR(DecodeKeyValues(*list, here.Field("values"), depth + 1, &values));
    }
    *out = model::AnyValue(std::move(values));
  } else {
    *out = model::AnyValue();  // OTLP's empty value
  }
  return absl::OkStatus();
}

constexpr std::array<std::string_view, 6> kSpanKindNames = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
constexpr std::array<std::string_view, 3> kStatusCodeNames = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                                              "STATUS_CODE_ERROR"};

// `v` as an array (nullptr when absent), or an error when not an array.
absl::StatusOr<const dom::element*> GetArray(const dom::element* v, const Path& path,
                                             const char* camel) {
  if (v != nullptr && !v->is_array()) return Invalid(path.Field(camel), "expected an array");
  return v;
}

// Calls decode(element, index) for each element of `array`, in order, stopping at the first error.
template <typename Decode>
absl::Status ForEach(const dom::element& array, const Decode& decode) {
  size_t i = 0;
  for (dom::element item : As<dom::array>(array)) {
    RETURN_IF_ERROR(decode(item, i++));
  }
  return absl::OkStatus();
}

constexpr std::array<FieldName, 4> kEventFields = {
    {{"timeUnixNano", "time_unix_nano"},
     {"name", ""},
     {"attributes", ""},
     {"droppedAttributesCount", "dropped_attributes_count"}}};

absl::Status DecodeEvent(const dom::element& in, const Path& path, model::Event* event) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  Members<4> m(As<dom::object>(in), kEventFields);
  RETURN_IF_ERROR(GetInteger(m.Get(0), path, "timeUnixNano", &event->time_unix_nano));
  RETURN_IF_ERROR(GetString(m.Get(1), path, "name", &event->name));
  RETURN_IF_ERROR(GetAttributes(m.Get(2), path, "attributes", &event->attributes));
  RETURN_IF_ERROR(
      GetInteger(m.Get(3), path, "droppedAttributesCount", &event->dropped_attributes_count));
  return absl::OkStatus();
}

constexpr std::array<FieldName, 6> kLinkFields = {
    {{"traceId", "trace_id"},
     {"spanId", "span_id"},
     {"traceState", "trace_state"},
     {"attributes", ""},
     {"droppedAttributesCount", "dropped_attributes_count"},
     {"flags", ""}}};

absl::Status DecodeLink(const dom::element& in, const Path& path, size_t index, model::Link* link,
                        std::string* why) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  Members<6> m(As<dom::object>(in), kLinkFields);
  RETURN_IF_ERROR(GetId(
      m.Get(0), path, "traceId", [&] { return fmt::format("link {} trace id", index); },
      &link->trace_id, why));
  RETURN_IF_ERROR(GetId(
      m.Get(1), path, "spanId", [&] { return fmt::format("link {} span id", index); },
      &link->span_id, why));
  RETURN_IF_ERROR(GetString(m.Get(2), path, "traceState", &link->trace_state));
  RETURN_IF_ERROR(GetAttributes(m.Get(3), path, "attributes", &link->attributes));
  RETURN_IF_ERROR(
      GetInteger(m.Get(4), path, "droppedAttributesCount", &link->dropped_attributes_count));
  RETURN_IF_ERROR(GetInteger(m.Get(5), path, "flags", &link->flags));
  return absl::OkStatus();
}

enum SpanField {
  kTraceId,
  kSpanId,
  kParentSpanId,
  kTraceState,
  kFlags,
  kName,
  kKind,
  kStartTime,
  kEndTime,
  kAttributes,
  kDroppedAttributes,
  kEvents,
  kDroppedEvents,
  kLinks,
  kDroppedLinks,
  kStatus,
  kSpanFieldCount,
};
constexpr std::array<FieldName, kSpanFieldCount> kSpanFields = {
    {{"traceId", "trace_id"},
     {"spanId", "span_id"},
     {"parentSpanId", "parent_span_id"},
     {"traceState", "trace_state"},
     {"flags", ""},
     {"name", ""},
     {"kind", ""},
     {"startTimeUnixNano", "start_time_unix_nano"},
     {"endTimeUnixNano", "end_time_unix_nano"},
     {"attributes", ""},
     {"droppedAttributesCount", "dropped_attributes_count"},
     {"events", ""},
     {"droppedEventsCount", "dropped_events_count"},
     {"links", ""},
     {"droppedLinksCount", "dropped_links_count"},
     {"status", ""}}};
constexpr std::array<FieldName, 2> kStatusFields = {{{"message", ""}, {"code", ""}}};

absl::Status DecodeSpan(const dom::element& in, const Path& path, model::Span* span,
                        std::string* why) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  Members<kSpanFieldCount> m(As<dom::object>(in), kSpanFields);
  RETURN_IF_ERROR(GetId(
      m.Get(kTraceId), path, "traceId", [] { return "trace id"; }, &span->trace_id, why));
  RETURN_IF_ERROR(GetId(
      m.Get(kSpanId), path, "spanId", [] { return "span id"; }, &span->span_id, why));
  RETURN_IF_ERROR(GetId(
      m.Get(kParentSpanId), path, "parentSpanId", [] { return "parent span id"; },
      &span->parent_span_id, why));
  RETURN_IF_ERROR(GetString(m.Get(kTraceState), path, "traceState", &span->trace_state));
  RETURN_IF_ERROR(GetInteger(m.Get(kFlags), path, "flags", &span->flags));
  RETURN_IF_ERROR(GetString(m.Get(kName), path, "name", &span->name));
  int kind = 0;
  RETURN_IF_ERROR(GetEnum(m.Get(kKind), path, "kind", kSpanKindNames, &kind));
  span->kind = static_cast<model::SpanKind>(kind);
  RETURN_IF_ERROR(
      GetInteger(m.Get(kStartTime), path, "startTimeUnixNano", &span->start_time_unix_nano));
  RETURN_IF_ERROR(GetInteger(m.Get(kEndTime), path, "endTimeUnixNano", &span->end_time_unix_nano));
  RETURN_IF_ERROR(GetAttributes(m.Get(kAttributes), path, "attributes", &span->attributes));
  RETURN_IF_ERROR(GetInteger(m.Get(kDroppedAttributes), path, "droppedAttributesCount",
                             &span->dropped_attributes_count));
  ASSIGN_OR_RETURN(const dom::element* events, GetArray(m.Get(kEvents), path, "events"));
  if (events != nullptr) {
    Path events_path = path.Field("events");
    span->events.reserve(As<dom::array>(*events).size());
    RETURN_IF_ERROR(ForEach(*events, [&](const dom::element& e, size_t i) {
      return DecodeEvent(e, events_path.Index(i), &span->events.emplace_back());
    }));
  }
  RETURN_IF_ERROR(
      GetInteger(m.Get(kDroppedEvents), path, "droppedEventsCount", &span->dropped_events_count));
  ASSIGN_OR_RETURN(const dom::element* links, GetArray(m.Get(kLinks), path, "links"));
  if (links != nullptr) {
    Path links_path = path.Field("links");
    span->links.reserve(As<dom::array>(*links).size());
    RETURN_IF_ERROR(ForEach(*links, [&](const dom::element& l, size_t i) {
      return DecodeLink(l, links_path.Index(i), i, &span->links.emplace_back(), why);
    }));
  }
  RETURN_IF_ERROR(
      GetInteger(m.Get(kDroppedLinks), path, "droppedLinksCount", &span->dropped_links_count));
  if (const dom::element* status = m.Get(kStatus)) {
    Path status_path = path.Field("status");
    if (!status->is_object()) return Invalid(status_path, "expected an object");
    Members<2> s(As<dom::object>(*status), kStatusFields);
    RETURN_IF_ERROR(GetString(s.Get(0), status_path, "message", &span->status.message));
    int code = 0;
    RETURN_IF_ERROR(GetEnum(s.Get(1), status_path, "code", kStatusCodeNames, &code));
    span->status.code = static_cast<model::StatusCode>(code);
  }
  return absl::OkStatus();
}

constexpr std::array<FieldName, 1> kRequestFields = {{{"resourceSpans", "resource_spans"}}};
constexpr std::array<FieldName, 3> kResourceSpansFields = {
    {{"resource", ""}, {"schemaUrl", "schema_url"}, {"scopeSpans", "scope_spans"}}};
constexpr std::array<FieldName, 2> kResourceFields = {
    {{"attributes", ""}, {"droppedAttributesCount", "dropped_attributes_count"}}};
constexpr std::array<FieldName, 3> kScopeSpansFields = {
    {{"scope", ""}, {"schemaUrl", "schema_url"}, {"spans", ""}}};
constexpr std::array<FieldName, 4> kScopeFields = {
    {{"name", ""},
     {"version", ""},
     {"attributes", ""},
     {"droppedAttributesCount", "dropped_attributes_count"}}};

absl::Status DecodeScopeSpans(const dom::element& in, const Path& path, size_t r, size_t s,
                              model::ScopeSpans* ss, SpanProblems* problems) {
  if (!in.is_object()) return Invalid(path, "expected an object");
  Members<3> m(As<dom::object>(in), kScopeSpansFields);
  if (const dom::element* scope = m.Get(0)) {
    Path scope_path = path.Field("scope");
    if (!scope->is_object()) return Invalid(scope_path, "expected an object");
    Members<4> sm(As<dom::object>(*scope), kScopeFields);
    RETURN_IF_ERROR(GetString(sm.Get(0), scope_path, "name", &ss->scope.name));
    RETURN_IF_ERROR(GetString(sm.Get(1), scope_path, "version", &ss->scope.version));
    RETURN_IF_ERROR(GetAttributes(sm.Get(2), scope_path, "attributes", &ss->scope.attributes));
    RETURN_IF_ERROR(GetInteger(sm.Get(3), scope_path, "droppedAttributesCount",
                               &ss->scope.dropped_attributes_count));
  }
  RETURN_IF_ERROR(GetString(m.Get(1), path, "schemaUrl", &ss->scope.schema_url));
  ASSIGN_OR_RETURN(const dom::element* spans, GetArray(m.Get(2), path, "spans"));
  if (spans == nullptr) return absl::OkStatus();
  Path span_list = path.Field("spans");
  ss->spans.resize(As<dom::array>(*spans).size());
  return ForEach(*spans, [&](const dom::element& in_span, size_t i) {
    std::string why;
    RETURN_IF_ERROR(DecodeSpan(in_span, span_list.Index(i), &ss->spans[i], &why));
    if (!why.empty()) {
      ss->spans[i].trace_id = TraceId{};
      problems->push_back(SpanProblem{r, s, i, std::move(why)});
    }
    return absl::OkStatus();
  });
}

absl::Status DecodeRequest(const dom::element& root, SpanProblems* problems,
                           model::SpanBatch* batch) {
  Path root_path;
  if (!root.is_object()) return Invalid(root_path, "expected a JSON object");
  Members<1> m(As<dom::object>(root), kRequestFields);
  ASSIGN_OR_RETURN(const dom::element* resource_spans,
                   GetArray(m.Get(0), root_path, "resourceSpans"));
  if (resource_spans == nullptr) return absl::OkStatus();
  Path rs_list = root_path.Field("resourceSpans");
  batch->resource_spans.resize(As<dom::array>(*resource_spans).size());
  return ForEach(*resource_spans, [&](const dom::element& in_rs, size_t r) -> absl::Status {
    Path rs_path = rs_list.Index(r);
    if (!in_rs.is_object()) return Invalid(rs_path, "expected an object");
    model::ResourceSpans& rs = batch->resource_spans[r];
    Members<3> rm(As<dom::object>(in_rs), kResourceSpansFields);
    if (const dom::element* resource = rm.Get(0)) {
      Path res_path = rs_path.Field("resource");
      if (!resource->is_object()) return Invalid(res_path, "expected an object");
      Members<2> res(As<dom::object>(*resource), kResourceFields);
      RETURN_IF_ERROR(GetAttributes(res.Get(0), res_path, "attributes", &rs.resource.attributes));
      RETURN_IF_ERROR(GetInteger(res.Get(1), res_path, "droppedAttributesCount",
                                 &rs.resource.dropped_attributes_count));
    }
    RETURN_IF_ERROR(GetString(rm.Get(1), rs_path, "schemaUrl", &rs.resource.schema_url));
    ASSIGN_OR_RETURN(const dom::element* scope_spans, GetArray(rm.Get(2), rs_path, "scopeSpans"));
    if (scope_spans == nullptr) return absl::OkStatus();
    Path ss_list = rs_path.Field("scopeSpans");
    rs.scope_spans.resize(As<dom::array>(*scope_spans).size());
    return ForEach(*scope_spans, [&](const dom::element& in_ss, size_t s) {
      return DecodeScopeSpans(in_ss, ss_list.Index(s), r, s, &rs.scope_spans[s], problems);
    });
  });
}

// Only looks: records the first syntax error nlohmann's parser reports (its message names the line
// and column) without building anything and without throwing.
class SyntaxErrorFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& error) override {
    std::string_view message(error.what());
    // nlohmann prefixes messages with "[json.exception.<kind>.<id>] ".
    if (!message.empty() && message.front() == '[') {
      size_t close = message.find("] ");
      if (close != std::string_view::npos) message.remove_prefix(close + 2);
    }
    message_ = std::string(message);
    return false;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// `json` (valid JSON) with every integer literal that fits no 64-bit integer written as a decimal
// fraction ("1e20" spelled out by JavaScript, for one), which simdjson then reads as the double it
// denotes instead of refusing it: JSON puts no limit on a number's size.
std::string WithBigIntegersAsDoubles(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 64);
  size_t i = 0;
  while (i < json.size()) {
    char c = json[i];
    if (c == '"') {  // copy a string whole, escapes included
      size_t j = i + 1;
      while (j < json.size() && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, json.size());
      out.append(json.substr(i, j - i));
      i = j;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + (c == '-' ? 1 : 0);
      bool integer = true;
      while (j < json.size() &&
             ((json[j] >= '0' && json[j] <= '9') || json[j] == '.' || json[j] == 'e' ||
              json[j] == 'E' || json[j] == '+' || json[j] == '-')) {
        if (json[j] < '0' || json[j] > '9') integer = false;
        ++j;
      }
      std::string_view token = json.substr(i, j - i);
      out.append(token);
      if (integer) {
        int64_t s;
        uint64_t u;
        bool fits =
            std::from_chars(token.data(), token.data() + token.size(), s).ec == std::errc() ||
            std::from_chars(token.data(), token.data() + token.size(), u).ec == std::errc();
        if (!fits) out += ".0";
      }
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

// Parses `json` into `parser`'s document; on failure the error in the decoder's words: nlohmann's
// message (with line and column) for text that is not JSON, else what simdjson refused.
absl::StatusOr<dom::element> Parse(std::string_view json, dom::parser& parser,
                                   simdjson::padded_string* rewritten) {
  std::string_view text = json;
  // A UTF-8 byte order mark before the text is allowed and skipped (RFC 8259 §8.1 lets parsers).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  dom::element root;
  simdjson::error_code error = parser.parse(text.data(), text.size()).get(root);
  if (error == simdjson::SUCCESS) return root;
  SyntaxErrorFinder finder;
  if (!nlohmann::json::sax_parse(json.begin(), json.end(), &finder)) {
    return absl::InvalidArgumentError(fmt::format("invalid OTLP JSON: {}", finder.message()));
  }
  // nlohmann's parser (and so this decoder, always) takes a NUL byte after the document for the end
  // of the text, so what follows one is ignored.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    text = text.substr(0, nul);
    error = parser.parse(text.data(), text.size()).get(root);
    if (error == simdjson::SUCCESS) return root;
  }
  // Valid JSON that simdjson refused: an integer too big for 64 bits, or nesting deeper than it
  // supports.
  if (error == simdjson::NUMBER_ERROR) {
    *rewritten = simdjson::padded_string(WithBigIntegersAsDoubles(text));
    error = parser.parse(*rewritten).get(root);
    if (error == simdjson::SUCCESS) return root;
  }
  if (error == simdjson::DEPTH_ERROR) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid OTLP JSON: nested more than {} levels deep", simdjson::DEFAULT_MAX_DEPTH));
  }
  return absl::InvalidArgumentError(
      fmt::format("invalid OTLP JSON: {}", simdjson::error_message(error)));
}

}  // namespace

absl::StatusOr<model::SpanBatch> DecodeOtlpJson(std::string_view json, SpanProblems* problems) {
  thread_local dom::parser parser;
  struct Trim {  // after every request, success or error
    ~Trim() {
      if (parser.capacity() > kKeptParserCapacity) parser = dom::parser();
    }
  } trim;
  simdjson::padded_string rewritten;
  ASSIGN_OR_RETURN(dom::element root, Parse(json, parser, &rewritten));
  model::SpanBatch batch;
  SpanProblems found;
  RETURN_IF_ERROR(DecodeRequest(root, &found, &batch));
  if (problems != nullptr) {
    for (SpanProblem& p : found) problems->push_back(std::move(p));
  }
  return batch;
}

}  // namespace teletrace::ingest
