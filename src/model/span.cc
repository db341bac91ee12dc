#include "model/span.h"

namespace teletrace::model {

bool AnyValue::operator==(const AnyValue& other) const { return value == other.value; }

size_t SpanBatch::SpanCount() const {
  size_t n = 0;
  for (const auto& rs : resource_spans) {
    for (const auto& ss : rs.scope_spans) n += ss.spans.size();
  }
  return n;
}

std::vector<StoredSpan> Flatten(SpanBatch batch, uint64_t ingestion_time_unix_nano) {
  std::vector<StoredSpan> out;
  out.reserve(batch.SpanCount());
  for (auto& rs : batch.resource_spans) {
    auto resource = std::make_shared<const Resource>(std::move(rs.resource));
    for (auto& ss : rs.scope_spans) {
      auto scope = std::make_shared<const Scope>(std::move(ss.scope));
      for (auto& span : ss.spans) {
        out.push_back(StoredSpan{resource, scope, std::move(span), ingestion_time_unix_nano});
      }
    }
  }
  return out;
}

const AnyValue* FindAttribute(const KeyValueList& attributes, std::string_view key) {
  const AnyValue* found = nullptr;
  for (const auto& kv : attributes) {
    if (kv.key == key) found = &kv.value;
  }
  return found;
}

std::string_view ServiceName(const Resource& resource) {
  const AnyValue* v = FindAttribute(resource.attributes, "service.name");
  if (v == nullptr) return {};
  if (const auto* s = std::get_if<std::string>(&v->value)) return *s;
  return {};
}

std::string_view ServiceName(const StoredSpan& span) {
  return span.resource ? ServiceName(*span.resource) : std::string_view();
}

}  // namespace teletrace::model
