#include "api/teletrace_v1/span_json.h"

#include <cmath>
#include <cstdio>

#include "fmt/format.h"
#include "model/last_occurrence.h"

namespace teletrace::api::v1 {
namespace {

// fmt::format_int renders into its own stack buffer: no allocation, no per-character appends.
void AppendUint(std::string* out, uint64_t v) {
  fmt::format_int digits(v);
  out->append(digits.data(), digits.size());
}

void AppendInt(std::string* out, int64_t v) {
  fmt::format_int digits(v);
  out->append(digits.data(), digits.size());
}

void AppendDouble(std::string* out, double v) {
  if (!std::isfinite(v)) {
    // JSON has no NaN/Infinity; OTLP/JSON writes them as strings, and so do we.
    AppendJsonString(out, std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
    return;
  }
  char buf[64];
  const size_t n = static_cast<size_t>(fmt::format_to_n(buf, sizeof(buf), "{}", v).out - buf);
  std::string_view s(buf, n);
  out->append(s);
  if (s.find_first_of(".eE") == std::string_view::npos) out->append(".0");
}

void AppendBase64(std::string* out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out->push_back('"');
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8 |
                 static_cast<uint8_t>(bytes[i + 2]);
    out->push_back(kAlphabet[n >> 18 & 63]);
    out->push_back(kAlphabet[n >> 12 & 63]);
    out->push_back(kAlphabet[n >> 6 & 63]);
    out->push_back(kAlphabet[n & 63]);
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out->push_back(kAlphabet[n >> 18 & 63]);
    out->push_back(kAlphabet[n >> 12 & 63]);
    out->push_back(i + 1 < bytes.size() ? kAlphabet[n >> 6 & 63] : '=');
    out->push_back('=');
  }
  out->push_back('"');
}

// Writes the id as a quoted lowercase hex string (as ToHex spells it) without a temporary string.
template <size_t N>
void AppendId(std::string* out, const std::array<uint8_t, N>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[2 * N + 2];
  buf[0] = '"';
  for (size_t i = 0; i < N; ++i) {
    buf[1 + 2 * i] = kDigits[id[i] >> 4];
    buf[2 + 2 * i] = kDigits[id[i] & 0xf];
  }
  buf[2 * N + 1] = '"';
  out->append(buf, sizeof(buf));
}

void AppendEvent(std::string* out, const model::Event& e) {
  out->append("{\"timeUnixNano\":");
  AppendUint(out, e.time_unix_nano);
  out->append(",\"name\":");
  AppendJsonString(out, e.name);
  out->append(",\"attributes\":");
  AppendAttributes(out, e.attributes);
  out->append(",\"droppedAttributesCount\":");
  AppendUint(out, e.dropped_attributes_count);
  out->push_back('}');
}

void AppendLink(std::string* out, const model::Link& l) {
  out->append("{\"traceId\":");
  AppendId(out, l.trace_id);
  out->append(",\"spanId\":");
  AppendId(out, l.span_id);
  out->append(",\"traceState\":");
  AppendJsonString(out, l.trace_state);
  out->append(",\"attributes\":");
  AppendAttributes(out, l.attributes);
  out->append(",\"droppedAttributesCount\":");
  AppendUint(out, l.dropped_attributes_count);
  out->append(",\"flags\":");
  AppendUint(out, l.flags);
  out->push_back('}');
}

}  // namespace

void AppendAnyValue(std::string* out, const model::AnyValue& value) {
  std::visit(
      [out](const auto& v) {
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
          AppendDouble(out, v);
        } else if constexpr (std::is_same_v<T, model::Bytes>) {
          AppendBase64(out, v.data);
        } else if constexpr (std::is_same_v<T, model::ArrayValue>) {
          out->push_back('[');
          for (size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out->push_back(',');
            AppendAnyValue(out, v[i]);
          }
          out->push_back(']');
        } else {
          AppendAttributes(out, v);
        }
      },
      value.value);
}

void AppendAttributes(std::string* out, const model::KeyValueList& attributes) {
  out->push_back('{');
  bool first = true;
  // A key repeated in one list: the last occurrence wins (model::FindAttribute), and a JSON
  // object must not carry the key twice.
  model::ForEachLastOccurrence(attributes, [&](const model::KeyValue& kv) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, kv.key);
    out->push_back(':');
    AppendAnyValue(out, kv.value);
  });
  out->push_back('}');
}

std::string_view SpanKindName(model::SpanKind kind) {
  switch (kind) {
    case model::SpanKind::kInternal:
      return "Internal";
    case model::SpanKind::kServer:
      return "Server";
    case model::SpanKind::kClient:
      return "Client";
    case model::SpanKind::kProducer:
      return "Producer";
    case model::SpanKind::kConsumer:
      return "Consumer";
    case model::SpanKind::kUnspecified:
      break;
  }
  return "Unspecified";
}

std::string_view StatusCodeName(model::StatusCode code) {
  switch (code) {
    case model::StatusCode::kOk:
      return "Ok";
    case model::StatusCode::kError:
      return "Error";
    case model::StatusCode::kUnset:
      break;
  }
  return "Unset";
}

void AppendInternalSpan(std::string* out, const model::StoredSpan& stored) {
  const model::Span& s = stored.span;
  out->append("{\"resource\":{\"attributes\":");
  if (stored.resource) {
    AppendAttributes(out, stored.resource->attributes);
    out->append(",\"droppedAttributesCount\":");
    AppendUint(out, stored.resource->dropped_attributes_count);
  } else {
    out->append("{},\"droppedAttributesCount\":0");
  }
  out->append("},\"scope\":{\"name\":");
  if (stored.scope) {
    AppendJsonString(out, stored.scope->name);
    out->append(",\"version\":");
    AppendJsonString(out, stored.scope->version);
    out->append(",\"attributes\":");
    AppendAttributes(out, stored.scope->attributes);
    out->append(",\"droppedAttributesCount\":");
    AppendUint(out, stored.scope->dropped_attributes_count);
  } else {
    out->append("\"\",\"version\":\"\",\"attributes\":{},\"droppedAttributesCount\":0");
  }
  out->append("},\"span\":{\"traceId\":");
  AppendId(out, s.trace_id);
  out->append(",\"spanId\":");
  AppendId(out, s.span_id);
  out->append(",\"traceState\":");
  AppendJsonString(out, s.trace_state);
  out->append(",\"parentSpanId\":");
  if (IsZeroId(s.parent_span_id)) {
    out->append("\"\"");
  } else {
    AppendId(out, s.parent_span_id);
  }
  out->append(",\"flags\":");
  AppendUint(out, s.flags);
  out->append(",\"name\":");
  AppendJsonString(out, s.name);
  out->append(",\"kind\":\"");
  out->append(SpanKindName(s.kind));
  out->append("\",\"startTimeUnixNano\":");
  AppendUint(out, s.start_time_unix_nano);
  out->append(",\"endTimeUnixNano\":");
  AppendUint(out, s.end_time_unix_nano);
  out->append(",\"attributes\":");
  AppendAttributes(out, s.attributes);
  out->append(",\"droppedAttributesCount\":");
  AppendUint(out, s.dropped_attributes_count);
  out->append(",\"events\":[");
  for (size_t i = 0; i < s.events.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendEvent(out, s.events[i]);
  }
  out->append("],\"droppedEventsCount\":");
  AppendUint(out, s.dropped_events_count);
  out->append(",\"links\":[");
  for (size_t i = 0; i < s.links.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendLink(out, s.links[i]);
  }
  out->append("],\"droppedLinksCount\":");
  AppendUint(out, s.dropped_links_count);
  out->append(",\"status\":{\"message\":");
  AppendJsonString(out, s.status.message);
  out->append(",\"code\":\"");
  out->append(StatusCodeName(s.status.code));
  out->append("\"}},\"externalFields\":{\"durationNano\":");
  AppendUint(out, s.DurationNano());
  out->append("},\"ingestionTimeUnixNano\":");
  AppendUint(out, stored.ingestion_time_unix_nano);
  out->push_back('}');
}

void AppendTagValue(std::string* out, const query::TagValue& value) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          AppendInt(out, v);
        } else {
          AppendDouble(out, v);
        }
      },
      value);
}

}  // namespace teletrace::api::v1
