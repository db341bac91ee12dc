#include "api/teletrace_v1/dependencies.h"

#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "model/span.h"

namespace teletrace::api::v1 {
namespace {

struct SpanKey {
  TraceId trace_id;
  SpanId span_id;
  bool operator==(const SpanKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const SpanKey& k) {
    return H::combine(std::move(h), k.trace_id, k.span_id);
  }
};

struct Child {
  SpanKey parent;
  uint32_t service;
  bool error;
};

}  // namespace

absl::StatusOr<Dependencies> ServiceDependencies(storage::Backend& backend, query::TimeRange range,
                                                 std::string_view service, size_t max_examined) {
  // Every span in range: its service, and the edge to its parent once both are known. Newest
  // first, so a cut by the examined-spans budget keeps the most recent calls.
  absl::flat_hash_map<std::string, uint32_t> service_ids;
  std::vector<std::string> services;
  absl::flat_hash_map<SpanKey, uint32_t> service_of;
  std::vector<Child> children;
  Dependencies out;

  query::SearchQuery q;
  q.range = range;
  q.sort = {query::SortField::kStartTime, /*ascending=*/false};
  q.page_size = query::kMaxPageSize;
  size_t examined = 0;
  for (;;) {
    absl::StatusOr<query::SearchResult> page = backend.Search(q);
    if (!page.ok()) return page.status();
    for (const model::StoredSpan& s : page->spans) {
      std::string_view name = s.resource ? model::ServiceName(*s.resource) : std::string_view();
      auto [it, added] =
          service_ids.try_emplace(std::string(name), static_cast<uint32_t>(services.size()));
      if (added) services.emplace_back(name);
      service_of.emplace(SpanKey{s.span.trace_id, s.span.span_id}, it->second);
      if (!IsZeroId(s.span.parent_span_id)) {
        children.push_back({SpanKey{s.span.trace_id, s.span.parent_span_id}, it->second,
                            s.span.status.code == model::StatusCode::kError});
      }
    }
    examined += page->spans.size();
    if (!page->next.has_value()) break;
    if (examined >= max_examined) {
      out.partial = true;
      break;
    }
    q.after = page->next;
  }
  std::map<std::pair<std::string_view, std::string_view>, DependencyEdge> edges;
  for (const Child& c : children) {
    auto it = service_of.find(c.parent);
    if (it == service_of.end()) continue;
    const std::string& parent = services[it->second];
    const std::string& child = services[c.service];
    if (!service.empty() && parent != service && child != service) continue;
    DependencyEdge& e = edges[{parent, child}];
    ++e.calls;
    if (c.error) ++e.errors;
  }
  out.edges.reserve(edges.size());
  for (auto& [names, edge] : edges) {
    edge.parent = names.first;
    edge.child = names.second;
    out.edges.push_back(std::move(edge));
  }
  return out;
}

}  // namespace teletrace::api::v1
