// Backend::Dependencies for backends that have not pushed it down: the range's spans read through
// Search pages, newest first, and joined with their parents in memory.
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "model/span.h"
#include "query/dependencies.h"
#include "storage/storage.h"

namespace teletrace::storage {
namespace {

using SpanKey = std::pair<TraceId, SpanId>;

struct Child {
  SpanKey parent;
  uint32_t service;
  bool error;
};

}  // namespace

absl::StatusOr<query::DependenciesResult> Backend::Dependencies(
    const query::DependenciesQuery& query) {
  // Every span in range: its service, and the edge to its parent once both are known. Newest
  // first, so a cut by the examined-spans budget keeps the most recent calls.
  absl::flat_hash_map<std::string, uint32_t> service_ids;
  std::vector<std::string> services;
  absl::flat_hash_map<SpanKey, uint32_t> service_of;
  std::vector<Child> children;
  bool partial = false;

  query::SearchQuery q;
  q.range = query.range;
  q.sort = {query::SortField::kStartTime, /*ascending=*/false};
  q.page_size = query::kMaxPageSize;
  size_t examined = 0;
  for (;;) {
    absl::StatusOr<query::SearchResult> page = Search(q);
    if (!page.ok()) return page.status();
    for (const model::StoredSpan& s : page->spans) {
      std::string_view name = model::ServiceName(s);
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
    if (examined >= query.max_examined) {
      partial = true;
      break;
    }
    q.after = page->next;
  }
  query::DependencyCounter counter;
  for (const Child& c : children) {
    auto it = service_of.find(c.parent);
    if (it == service_of.end()) continue;
    counter.Add(services[it->second], services[c.service], 1, c.error ? 1 : 0);
  }
  return std::move(counter).Finish(query.service, partial);
}

}  // namespace teletrace::storage
