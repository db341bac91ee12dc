#include "api/jaeger/jaeger_json.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <cmath>
#include <map>
#include <unordered_map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "api/jaeger/jaeger_query_params.h"
#include "common/json_string.h"
#include "fmt/format.h"
#include "model/last_occurrence.h"

namespace teletrace::api::jaeger {
namespace {

void AppendInt(std::string* out, int64_t v) {
  fmt::format_int digits(v);
  out->append(digits.data(), digits.size());
}

void AppendUint(std::string* out, uint64_t v) {
  fmt::format_int digits(v);
  out->append(digits.data(), digits.size());
}

void AppendKey(std::string* out, std::string_view key) {
  AppendJsonString(out, key);
  out->push_back(':');
}

// The JSON a map or array attribute reads as (pcommon's AsString of a map or slice): map keys in
// sorted order, as Go's encoding/json writes a map.
void AppendRawJson(std::string* out, const model::AnyValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out->append("null");
        } else if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          AppendInt(out, v);
        } else if constexpr (std::is_same_v<T, double>) {
          AppendGoFloat(out, v);
        } else if constexpr (std::is_same_v<T, model::Bytes>) {
          AppendJsonString(out, absl::Base64Escape(v.data));
        } else if constexpr (std::is_same_v<T, model::ArrayValue>) {
          out->push_back('[');
          for (size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out->push_back(',');
            AppendRawJson(out, v[i]);
          }
          out->push_back(']');
        } else {  // KeyValueList
          std::map<std::string_view, const model::AnyValue*> sorted;
          for (const model::KeyValue& kv : v) sorted[kv.key] = &kv.value;  // last one wins
          out->push_back('{');
          bool first = true;
          for (const auto& [key, item] : sorted) {
            if (!first) out->push_back(',');
            first = false;
            AppendKey(out, key);
            AppendRawJson(out, *item);
          }
          out->push_back('}');
        }
      },
      value.value);
}

// A tag as Jaeger's model holds it, ordered as its query service sorts tags (by key, then type in
// the order below, then value).
enum class TagType { kString = 0, kBool = 1, kInt64 = 2, kFloat64 = 3, kBinary = 4 };

struct Tag {
  std::string_view key;
  TagType type = TagType::kString;
  std::string_view text;  // kString: the value; kBinary: the raw bytes
  bool b = false;
  int64_t i = 0;
  double d = 0;

  bool operator<(const Tag& o) const {
    if (key != o.key) return key < o.key;
    if (type != o.type) return type < o.type;
    switch (type) {
      case TagType::kBool:
        return b < o.b;
      case TagType::kInt64:
        return i < o.i;
      case TagType::kFloat64:
        return d < o.d;
      default:
        return text < o.text;
    }
  }
};

// Tags of one span or process. Texts that are not views into the span (arrays and maps as JSON)
// live in `owned`, whose elements never move.
struct TagList {
  std::vector<Tag> tags;
  std::deque<std::string> owned;

  void AddString(std::string_view key, std::string_view value) {
    Tag t;
    t.key = key;
    t.text = value;
    tags.push_back(t);
  }
  void Add(std::string_view key, const model::AnyValue& value) {
    Tag t;
    t.key = key;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            t.text = v;
          } else if constexpr (std::is_same_v<T, bool>) {
            t.type = TagType::kBool;
            t.b = v;
          } else if constexpr (std::is_same_v<T, int64_t>) {
            t.type = TagType::kInt64;
            t.i = v;
          } else if constexpr (std::is_same_v<T, double>) {
            t.type = TagType::kFloat64;
            t.d = v;
          } else if constexpr (std::is_same_v<T, model::Bytes>) {
            t.type = TagType::kBinary;
            t.text = v.data;
          } else if constexpr (std::is_same_v<T, std::monostate>) {
            t.text = {};
          } else {
            t.text = owned.emplace_back(AttributeAsString(value));
          }
        },
        value.value);
    tags.push_back(t);
  }
  // Attributes, the last occurrence of a key winning, without `skip_key`.
  void AddAttributes(const model::KeyValueList& attributes, std::string_view skip_key = {}) {
    model::ForEachLastOccurrence(attributes, [&](const model::KeyValue& kv) {
      if (skip_key.empty() || kv.key != skip_key) Add(kv.key, kv.value);
    });
  }
  void Sort(size_t from = 0) { std::sort(tags.begin() + static_cast<ptrdiff_t>(from), tags.end()); }
};

// Integers beyond ±(2^53 - 1) are written as strings, as Jaeger does, so JavaScript clients keep
// every digit.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

void AppendTag(std::string* out, const Tag& t) {
  out->append("{\"key\":");
  AppendJsonString(out, t.key);
  switch (t.type) {
    case TagType::kString:
      out->append(",\"type\":\"string\",\"value\":");
      AppendJsonString(out, t.text);
      break;
    case TagType::kBool:
      out->append(",\"type\":\"bool\",\"value\":");
      out->append(t.b ? "true" : "false");
      break;
    case TagType::kInt64:
      out->append(",\"type\":\"int64\",\"value\":");
      if (t.i > kMaxSafeInteger || t.i < -kMaxSafeInteger) {
        out->push_back('"');
        AppendInt(out, t.i);
        out->push_back('"');
      } else {
        AppendInt(out, t.i);
      }
      break;
    case TagType::kFloat64:
      out->append(",\"type\":\"float64\",\"value\":");
      AppendGoFloat(out, t.d);
      break;
    case TagType::kBinary:
      out->append(",\"type\":\"binary\",\"value\":");
      AppendJsonString(out, absl::Base64Escape(absl::string_view(t.text.data(), t.text.size())));
      break;
  }
  out->push_back('}');
}

void AppendTags(std::string* out, const TagList& list) {
  out->push_back('[');
  for (size_t i = 0; i < list.tags.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendTag(out, list.tags[i]);
  }
  out->push_back(']');
}

std::string_view KindTagValue(model::SpanKind kind) {
  switch (kind) {
    case model::SpanKind::kInternal:
      return "internal";
    case model::SpanKind::kServer:
      return "server";
    case model::SpanKind::kClient:
      return "client";
    case model::SpanKind::kProducer:
      return "producer";
    case model::SpanKind::kConsumer:
      return "consumer";
    case model::SpanKind::kUnspecified:
      break;
  }
  return {};
}

// What Jaeger stores for a resource without a string service.name (its ingest sanitizer's name).
constexpr std::string_view kNoServiceName = "missing-service-name";

void AppendProcess(std::string* out, const model::Resource& resource) {
  std::string_view service = kNoServiceName;
  if (const model::AnyValue* v = model::FindAttribute(resource.attributes, "service.name")) {
    if (const auto* s = std::get_if<std::string>(&v->value)) service = *s;
  }
  out->append("{\"serviceName\":");
  AppendJsonString(out, service);
  out->append(",\"tags\":");
  TagList tags;
  tags.AddAttributes(resource.attributes, "service.name");
  tags.Sort();
  AppendTags(out, tags);
  out->push_back('}');
}

struct Reference {
  bool child_of;
  const TraceId* trace_id;
  const SpanId* span_id;
};

// `parent_missing`: the span names a parent the trace does not hold (Jaeger warns about it and
// treats the span as a root).
void AppendSpan(std::string* out, const model::StoredSpan& stored, std::string_view trace_hex,
                std::string_view process_id, bool parent_missing) {
  const model::Span& span = stored.span;
  out->append("{\"traceID\":");
  AppendJsonString(out, trace_hex);
  out->append(",\"spanID\":\"");
  out->append(ToHex(span.span_id));
  out->append("\",\"operationName\":");
  AppendJsonString(out, span.name);

  // The parent, then the links (CHILD_OF when the link says so in OpenTracing's attribute, else
  // FOLLOWS_FROM); the first CHILD_OF reference within the trace goes first (else the first
  // reference within the trace), as Jaeger's parent-reference adjuster orders them.
  std::vector<Reference> refs;
  refs.reserve(span.links.size() + 1);
  if (!IsZeroId(span.parent_span_id)) refs.push_back({true, &span.trace_id, &span.parent_span_id});
  for (const model::Link& link : span.links) {
    const model::AnyValue* ref_type = model::FindAttribute(link.attributes, "opentracing.ref_type");
    const auto* ref_text = ref_type ? std::get_if<std::string>(&ref_type->value) : nullptr;
    refs.push_back({ref_text != nullptr && *ref_text == "child_of", &link.trace_id, &link.span_id});
  }
  auto first_in_trace = std::find_if(refs.begin(), refs.end(), [&](const Reference& r) {
    return r.child_of && *r.trace_id == span.trace_id;
  });
  if (first_in_trace == refs.end()) {
    first_in_trace = std::find_if(refs.begin(), refs.end(),
                                  [&](const Reference& r) { return *r.trace_id == span.trace_id; });
  }
  if (first_in_trace != refs.end()) std::rotate(refs.begin(), first_in_trace, first_in_trace + 1);
  out->append(",\"references\":[");
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(refs[i].child_of ? "{\"refType\":\"CHILD_OF\",\"traceID\":\""
                                 : "{\"refType\":\"FOLLOWS_FROM\",\"traceID\":\"");
    out->append(JaegerTraceIdHex(*refs[i].trace_id));
    out->append("\",\"spanID\":\"");
    out->append(ToHex(*refs[i].span_id));
    out->append("\"}");
  }
  out->push_back(']');

  out->append(",\"startTime\":");
  AppendUint(out, span.start_time_unix_nano / 1000);
  out->append(",\"duration\":");
  AppendUint(out, span.DurationNano() / 1000);

  TagList tags;
  tags.tags.reserve(span.attributes.size() + 7);
  tags.AddAttributes(span.attributes);
  if (stored.scope != nullptr) {
    if (!stored.scope->name.empty()) tags.AddString("otel.scope.name", stored.scope->name);
    if (!stored.scope->version.empty()) tags.AddString("otel.scope.version", stored.scope->version);
  }
  if (std::string_view kind = KindTagValue(span.kind); !kind.empty()) {
    tags.AddString("span.kind", kind);
  }
  if (span.status.code == model::StatusCode::kOk) tags.AddString("otel.status_code", "OK");
  static const model::AnyValue kTrue(true);
  if (span.status.code == model::StatusCode::kError) {
    tags.AddString("otel.status_code", "ERROR");
    tags.Add("error", kTrue);
  }
  if (!span.status.message.empty()) tags.AddString("otel.status_description", span.status.message);
  if (!span.trace_state.empty()) tags.AddString("w3c.tracestate", span.trace_state);
  tags.Sort();
  out->append(",\"tags\":");
  AppendTags(out, tags);

  // Logs: the event's name as an "event" field (unless an attribute already has that key), moved
  // first with the attributes sorted after it.
  out->append(",\"logs\":[");
  for (size_t i = 0; i < span.events.size(); ++i) {
    const model::Event& event = span.events[i];
    if (i > 0) out->push_back(',');
    out->append("{\"timestamp\":");
    AppendUint(out, event.time_unix_nano / 1000);
    out->append(",\"fields\":");
    TagList fields;
    if (!event.name.empty() && model::FindAttribute(event.attributes, "event") == nullptr) {
      fields.AddString("event", event.name);
    }
    fields.AddAttributes(event.attributes);
    auto event_field = std::find_if(fields.tags.begin(), fields.tags.end(), [](const Tag& t) {
      return t.key == "event" && t.type == TagType::kString;
    });
    size_t sorted_from = 0;
    if (event_field != fields.tags.end()) {
      std::swap(*event_field, fields.tags.front());
      sorted_from = 1;
    }
    fields.Sort(sorted_from);
    AppendTags(out, fields);
    out->push_back('}');
  }
  out->append("],\"processID\":");
  AppendJsonString(out, process_id);
  if (parent_missing) {
    // Jaeger's wording, so tools that recognise it keep doing so.
    out->append(",\"warnings\":[\"invalid parent span IDs=");
    out->append(ToHex(span.parent_span_id));
    out->append("; skipping clock skew adjustment\"]}");
  } else {
    out->append(",\"warnings\":null}");
  }
}

}  // namespace

void AppendGoFloat(std::string* out, double v) {
  if (!std::isfinite(v)) {
    // Go's encoder refuses these; a string keeps the response valid JSON and the value readable.
    AppendJsonString(out, std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
    return;
  }
  char buf[64];
  const double a = std::fabs(v);
  const bool exponent = a != 0 && (a < 1e-6 || a >= 1e21);
  std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), v,
                    exponent ? std::chars_format::scientific : std::chars_format::fixed);
  size_t n = static_cast<size_t>(r.ptr - buf);
  // "1e-07" -> "1e-7", as Go writes it.
  if (exponent && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  out->append(buf, n);
}

std::string AttributeAsString(const model::AnyValue& value) {
  std::string out;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, std::string>) {
          out = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          out = v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          AppendInt(&out, v);
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            AppendGoFloat(&out, v);
          } else {
            out = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
          }
        } else if constexpr (std::is_same_v<T, model::Bytes>) {
          out = absl::Base64Escape(v.data);
        } else {
          AppendRawJson(&out, value);
        }
      },
      value.value);
  return out;
}

void AppendJaegerTrace(std::string* out, const std::vector<model::StoredSpan>& spans) {
  // Processes by content (resources equal in content share one id even when decoded apart), with
  // a cache by pointer so a 100k-span trace renders each shared resource once.
  std::unordered_map<const model::Resource*, size_t> by_pointer;
  std::unordered_map<std::string, size_t> by_content;
  std::vector<std::string> processes;  // rendered, index i is "p{i+1}"
  std::vector<size_t> span_process(spans.size());
  const model::Resource kEmpty;
  for (size_t i = 0; i < spans.size(); ++i) {
    const model::Resource* resource = spans[i].resource ? spans[i].resource.get() : &kEmpty;
    auto [it, inserted] = by_pointer.try_emplace(resource, 0);
    if (inserted) {
      std::string rendered;
      AppendProcess(&rendered, *resource);
      auto [content, fresh] = by_content.try_emplace(rendered, processes.size());
      if (fresh) processes.push_back(std::move(rendered));
      it->second = content->second;
    }
    span_process[i] = it->second;
  }

  const std::string trace_hex =
      spans.empty() ? std::string() : JaegerTraceIdHex(spans.front().span.trace_id);
  out->append("{\"traceID\":");
  AppendJsonString(out, trace_hex);
  absl::flat_hash_set<SpanId> span_ids;
  span_ids.reserve(spans.size());
  for (const model::StoredSpan& s : spans) span_ids.insert(s.span.span_id);
  out->append(",\"spans\":[");
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out->push_back(',');
    const SpanId& parent = spans[i].span.parent_span_id;
    AppendSpan(out, spans[i], trace_hex, fmt::format("p{}", span_process[i] + 1),
               !IsZeroId(parent) && !span_ids.contains(parent));
  }
  out->append("],\"processes\":{");
  // Go writes map keys sorted: "p1", "p10", "p11", ..., "p2".
  std::map<std::string, size_t> sorted_ids;
  for (size_t i = 0; i < processes.size(); ++i) sorted_ids.emplace(fmt::format("p{}", i + 1), i);
  bool first = true;
  for (const auto& [id, index] : sorted_ids) {
    if (!first) out->push_back(',');
    first = false;
    AppendKey(out, id);
    out->append(processes[index]);
  }
  out->append("},\"warnings\":null}");
}

}  // namespace teletrace::api::jaeger
