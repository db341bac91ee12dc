#include "api/otlp/otlp_encoding.h"

#include <cmath>
#include <map>

#include "absl/strings/escaping.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/json_string.h"
#include "fmt/format.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace teletrace::api::otlp {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;

// Spans grouped as OTLP nests them: resources, their scopes, their spans (indexes into the input).
struct ScopeGroup {
  const model::Scope* scope;
  std::vector<size_t> spans;
};
struct ResourceGroup {
  const model::Resource* resource;
  std::vector<ScopeGroup> scopes;
};

std::vector<ResourceGroup> Group(const std::vector<model::StoredSpan>& spans) {
  static const model::Resource kNoResource;
  static const model::Scope kNoScope;
  std::vector<ResourceGroup> groups;
  // Equal resources (and scopes) from different blocks are different objects: compare contents,
  // after a cache by pointer so a 100k-span trace compares each shared object once.
  std::map<const model::Resource*, size_t> resource_index;
  std::map<std::pair<size_t, const model::Scope*>, size_t> scope_index;
  for (size_t i = 0; i < spans.size(); ++i) {
    const model::Resource* r = spans[i].resource ? spans[i].resource.get() : &kNoResource;
    const model::Scope* s = spans[i].scope ? spans[i].scope.get() : &kNoScope;
    auto [rit, r_new] = resource_index.try_emplace(r, groups.size());
    if (r_new) {
      for (size_t g = 0; g < groups.size(); ++g) {
        if (*groups[g].resource == *r) {
          rit->second = g;
          break;
        }
      }
      if (rit->second == groups.size()) groups.push_back({r, {}});
    }
    ResourceGroup& rg = groups[rit->second];
    auto [sit, s_new] = scope_index.try_emplace({rit->second, s}, rg.scopes.size());
    if (s_new) {
      for (size_t g = 0; g < rg.scopes.size(); ++g) {
        if (*rg.scopes[g].scope == *s) {
          sit->second = g;
          break;
        }
      }
      if (sit->second == rg.scopes.size()) rg.scopes.push_back({s, {}});
    }
    rg.scopes[sit->second].spans.push_back(i);
  }
  return groups;
}

// ---- protobuf ----

void ToProto(const model::AnyValue& value, pb_common::AnyValue* out);

void ToProto(const model::KeyValueList& attributes,
             google::protobuf::RepeatedPtrField<pb_common::KeyValue>* out) {
  out->Reserve(static_cast<int>(attributes.size()));
  for (const model::KeyValue& kv : attributes) {
    pb_common::KeyValue* p = out->Add();
    p->set_key(kv.key);
    ToProto(kv.value, p->mutable_value());
  }
}

void ToProto(const model::AnyValue& value, pb_common::AnyValue* out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_string_value(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->set_bool_value(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out->set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_double_value(v);
        } else if constexpr (std::is_same_v<T, model::Bytes>) {
          out->set_bytes_value(v.data);
        } else if constexpr (std::is_same_v<T, model::ArrayValue>) {
          pb_common::ArrayValue* array = out->mutable_array_value();
          for (const model::AnyValue& item : v) ToProto(item, array->add_values());
        } else {
          ToProto(v, out->mutable_kvlist_value()->mutable_values());
        }
      },
      value.value);
}

void ToProto(const model::Span& s, pb_trace::Span* out) {
  out->set_trace_id(std::string(IdBytes(s.trace_id)));
  out->set_span_id(std::string(IdBytes(s.span_id)));
  out->set_trace_state(s.trace_state);
  if (!IsZeroId(s.parent_span_id)) out->set_parent_span_id(std::string(IdBytes(s.parent_span_id)));
  out->set_flags(s.flags);
  out->set_name(s.name);
  out->set_kind(static_cast<pb_trace::Span::SpanKind>(s.kind));
  out->set_start_time_unix_nano(s.start_time_unix_nano);
  out->set_end_time_unix_nano(s.end_time_unix_nano);
  ToProto(s.attributes, out->mutable_attributes());
  out->set_dropped_attributes_count(s.dropped_attributes_count);
  for (const model::Event& e : s.events) {
    pb_trace::Span::Event* pe = out->add_events();
    pe->set_time_unix_nano(e.time_unix_nano);
    pe->set_name(e.name);
    ToProto(e.attributes, pe->mutable_attributes());
    pe->set_dropped_attributes_count(e.dropped_attributes_count);
  }
  out->set_dropped_events_count(s.dropped_events_count);
  for (const model::Link& l : s.links) {
    pb_trace::Span::Link* pl = out->add_links();
    pl->set_trace_id(std::string(IdBytes(l.trace_id)));
    pl->set_span_id(std::string(IdBytes(l.span_id)));
    pl->set_trace_state(l.trace_state);
    ToProto(l.attributes, pl->mutable_attributes());
    pl->set_dropped_attributes_count(l.dropped_attributes_count);
    pl->set_flags(l.flags);
  }
  out->set_dropped_links_count(s.dropped_links_count);
  if (s.status.code != model::StatusCode::kUnset || !s.status.message.empty()) {
    out->mutable_status()->set_message(s.status.message);
    out->mutable_status()->set_code(static_cast<pb_trace::Status::StatusCode>(s.status.code));
  }
}

// ---- JSON ----

struct JsonWriter {
  std::string* out;
  const OtlpJsonOptions& options;

  void Key(std::string_view key) {
    out->push_back('"');
    out->append(key);
    out->append("\":");
  }
  void Uint64String(uint64_t v) { out->append(fmt::format("\"{}\"", v)); }
  template <size_t N>
  void Id(const std::array<uint8_t, N>& id) {
    if (options.base64_ids) {
      AppendJsonString(out, absl::Base64Escape(absl::string_view(
                                reinterpret_cast<const char*>(id.data()), id.size())));
    } else {
      out->push_back('"');
      out->append(ToHex(id));
      out->push_back('"');
    }
  }

  void Value(const model::AnyValue& value) {
    out->push_back('{');
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
          } else if constexpr (std::is_same_v<T, std::string>) {
            Key("stringValue");
            AppendJsonString(out, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            Key("boolValue");
            out->append(v ? "true" : "false");
          } else if constexpr (std::is_same_v<T, int64_t>) {
            Key("intValue");
            out->append(fmt::format("\"{}\"", v));
          } else if constexpr (std::is_same_v<T, double>) {
            Key("doubleValue");
            if (std::isnan(v)) {
              out->append("\"NaN\"");
            } else if (std::isinf(v)) {
              out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
            } else {
              out->append(fmt::format("{}", v));
            }
          } else if constexpr (std::is_same_v<T, model::Bytes>) {
            Key("bytesValue");
            AppendJsonString(out, absl::Base64Escape(v.data));
          } else if constexpr (std::is_same_v<T, model::ArrayValue>) {
            Key("arrayValue");
            out->append("{\"values\":[");
            for (size_t i = 0; i < v.size(); ++i) {
              if (i > 0) out->push_back(',');
              Value(v[i]);
            }
            out->append("]}");
          } else {
            Key("kvlistValue");
            out->append("{\"values\":");
            Attributes(v);
            out->push_back('}');
          }
        },
        value.value);
    out->push_back('}');
  }

  void Attributes(const model::KeyValueList& attributes) {
    out->push_back('[');
    for (size_t i = 0; i < attributes.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"key\":");
      AppendJsonString(out, attributes[i].key);
      out->append(",\"value\":");
      Value(attributes[i].value);
      out->push_back('}');
    }
    out->push_back(']');
  }

  // ,"name":N for a non-zero count (OTLP/JSON omits defaults).
  void Count(std::string_view name, uint64_t v) {
    if (v == 0) return;
    out->push_back(',');
    Key(name);
    out->append(fmt::format("{}", v));
  }
  void String(std::string_view name, std::string_view v) {
    if (v.empty()) return;
    out->push_back(',');
    Key(name);
    AppendJsonString(out, v);
  }

  void Span(const model::Span& s) {
    out->append("{\"traceId\":");
    Id(s.trace_id);
    out->append(",\"spanId\":");
    Id(s.span_id);
    String("traceState", s.trace_state);
    if (!IsZeroId(s.parent_span_id)) {
      out->append(",\"parentSpanId\":");
      Id(s.parent_span_id);
    }
    Count("flags", s.flags);
    String("name", s.name);
    Count("kind", static_cast<uint64_t>(s.kind));
    out->append(",\"startTimeUnixNano\":");
    Uint64String(s.start_time_unix_nano);
    out->append(",\"endTimeUnixNano\":");
    Uint64String(s.end_time_unix_nano);
    if (!s.attributes.empty()) {
      out->append(",\"attributes\":");
      Attributes(s.attributes);
    }
    Count("droppedAttributesCount", s.dropped_attributes_count);
    if (!s.events.empty()) {
      out->append(",\"events\":[");
      for (size_t i = 0; i < s.events.size(); ++i) {
        const model::Event& e = s.events[i];
        if (i > 0) out->push_back(',');
        out->append("{\"timeUnixNano\":");
        Uint64String(e.time_unix_nano);
        String("name", e.name);
        if (!e.attributes.empty()) {
          out->append(",\"attributes\":");
          Attributes(e.attributes);
        }
        Count("droppedAttributesCount", e.dropped_attributes_count);
        out->push_back('}');
      }
      out->push_back(']');
    }
    Count("droppedEventsCount", s.dropped_events_count);
    if (!s.links.empty()) {
      out->append(",\"links\":[");
      for (size_t i = 0; i < s.links.size(); ++i) {
        const model::Link& l = s.links[i];
        if (i > 0) out->push_back(',');
        out->append("{\"traceId\":");
        Id(l.trace_id);
        out->append(",\"spanId\":");
        Id(l.span_id);
        String("traceState", l.trace_state);
        if (!l.attributes.empty()) {
          out->append(",\"attributes\":");
          Attributes(l.attributes);
        }
        Count("droppedAttributesCount", l.dropped_attributes_count);
        Count("flags", l.flags);
        out->push_back('}');
      }
      out->push_back(']');
    }
    Count("droppedLinksCount", s.dropped_links_count);
    out->append(",\"status\":{");
    size_t before = out->size();
    if (!s.status.message.empty()) {
      Key("message");
      AppendJsonString(out, s.status.message);
    }
    if (s.status.code != model::StatusCode::kUnset) {
      if (out->size() != before) out->push_back(',');
      Key("code");
      out->append(fmt::format("{}", static_cast<int>(s.status.code)));
    }
    out->append("}}");
  }
};

}  // namespace

std::string EncodeOtlpTracesProtobuf(const std::vector<model::StoredSpan>& spans,
                                     uint32_t resource_spans_field) {
  std::string out;
  std::string message;
  for (const ResourceGroup& rg : Group(spans)) {
    pb_trace::ResourceSpans rs;
    ToProto(rg.resource->attributes, rs.mutable_resource()->mutable_attributes());
    rs.mutable_resource()->set_dropped_attributes_count(rg.resource->dropped_attributes_count);
    rs.set_schema_url(rg.resource->schema_url);
    for (const ScopeGroup& sg : rg.scopes) {
      pb_trace::ScopeSpans* ss = rs.add_scope_spans();
      ss->mutable_scope()->set_name(sg.scope->name);
      ss->mutable_scope()->set_version(sg.scope->version);
      ToProto(sg.scope->attributes, ss->mutable_scope()->mutable_attributes());
      ss->mutable_scope()->set_dropped_attributes_count(sg.scope->dropped_attributes_count);
      ss->set_schema_url(sg.scope->schema_url);
      ss->mutable_spans()->Reserve(static_cast<int>(sg.spans.size()));
      for (size_t i : sg.spans) ToProto(spans[i].span, ss->add_spans());
    }
    message.clear();
    rs.SerializeToString(&message);
    encoding::AppendVarint(&out, (uint64_t{resource_spans_field} << 3) | 2);  // length-delimited
    encoding::AppendVarint(&out, message.size());
    out.append(message);
  }
  return out;
}

void AppendOtlpTracesJson(std::string* out, const std::vector<model::StoredSpan>& spans,
                          const OtlpJsonOptions& options) {
  JsonWriter w{out, options};
  out->append("{\"");
  out->append(options.resource_spans_key);
  out->append("\":[");
  bool first_resource = true;
  for (const ResourceGroup& rg : Group(spans)) {
    if (!first_resource) out->push_back(',');
    first_resource = false;
    out->append("{\"resource\":{\"attributes\":");
    w.Attributes(rg.resource->attributes);
    w.Count("droppedAttributesCount", rg.resource->dropped_attributes_count);
    out->append("},\"scopeSpans\":[");
    for (size_t g = 0; g < rg.scopes.size(); ++g) {
      const ScopeGroup& sg = rg.scopes[g];
      if (g > 0) out->push_back(',');
      out->append("{\"scope\":{");
      const size_t scope_start = out->size();
      if (!sg.scope->name.empty()) {
        w.Key("name");
        AppendJsonString(out, sg.scope->name);
      }
      w.String("version", sg.scope->version);
      if (!sg.scope->attributes.empty()) {
        out->append(",\"attributes\":");
        w.Attributes(sg.scope->attributes);
      }
      w.Count("droppedAttributesCount", sg.scope->dropped_attributes_count);
      if (out->size() > scope_start && (*out)[scope_start] == ',') out->erase(scope_start, 1);
      out->append("},\"spans\":[");
      for (size_t k = 0; k < sg.spans.size(); ++k) {
        if (k > 0) out->push_back(',');
        w.Span(spans[sg.spans[k]].span);
      }
      out->push_back(']');
      w.String("schemaUrl", sg.scope->schema_url);
      out->push_back('}');
    }
    out->push_back(']');
    w.String("schemaUrl", rg.resource->schema_url);
    out->push_back('}');
  }
  out->append("]}");
}

}  // namespace teletrace::api::otlp
