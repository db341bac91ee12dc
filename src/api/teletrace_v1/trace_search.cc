#include "api/teletrace_v1/trace_search.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/status_macros.h"

namespace teletrace::api::v1 {
namespace {

bool Passes(const TraceSummary& t, const TraceSearchRequest& r) {
  if (r.min_duration_nano && t.duration_nano < *r.min_duration_nano) return false;
  if (r.max_duration_nano && t.duration_nano > *r.max_duration_nano) return false;
  if (r.root_service_name && t.root_service_name != *r.root_service_name) return false;
  if (r.has_errors && (t.error_count > 0) != *r.has_errors) return false;
  return true;
}

}  // namespace

TraceSummary SummarizeTrace(const TraceId& trace_id, const std::vector<model::StoredSpan>& spans,
                            bool complete) {
  TraceSummary t;
  t.trace_id = trace_id;
  t.complete = complete;
  t.span_count = spans.size();
  if (spans.empty()) return t;
  absl::flat_hash_set<SpanId> ids;
  ids.reserve(spans.size());
  for (const model::StoredSpan& s : spans) ids.insert(s.span.span_id);

  // Earliest start wins; ties by span id, so the choice does not depend on the order given.
  auto earlier = [](const model::StoredSpan* a, const model::StoredSpan& b) {
    return a == nullptr || b.span.start_time_unix_nano < a->span.start_time_unix_nano ||
           (b.span.start_time_unix_nano == a->span.start_time_unix_nano &&
            b.span.span_id < a->span.span_id);
  };
  const model::StoredSpan* root = nullptr;
  const model::StoredSpan* first = nullptr;
  uint64_t end = 0;
  absl::flat_hash_map<std::string_view, size_t> service_index;  // views into the spans' resources
  t.start_unix_nano = spans.front().span.start_time_unix_nano;
  for (const model::StoredSpan& s : spans) {
    const model::Span& span = s.span;
    t.start_unix_nano = std::min(t.start_unix_nano, span.start_time_unix_nano);
    end = std::max(end, std::max(span.end_time_unix_nano, span.start_time_unix_nano));
    if (earlier(first, s)) first = &s;
    if ((IsZeroId(span.parent_span_id) || !ids.contains(span.parent_span_id)) && earlier(root, s)) {
      root = &s;
    }
    const bool error = span.status.code == model::StatusCode::kError;
    t.error_count += error ? 1 : 0;
    const std::string_view service = model::ServiceName(s);
    auto [it, added] = service_index.try_emplace(service, t.services.size());
    if (added) t.services.push_back({std::string(service), 0, 0});
    ServiceSpanCount& counts = t.services[it->second];
    ++counts.spans;
    counts.errors += error ? 1 : 0;
  }
  t.root_found = root != nullptr;
  if (root == nullptr) root = first;
  t.root_service_name = std::string(model::ServiceName(*root));
  t.root_name = root->span.name;
  t.duration_nano = end - t.start_unix_nano;
  std::sort(t.services.begin(), t.services.end(), [](const auto& a, const auto& b) {
    return a.spans != b.spans ? a.spans > b.spans : a.name < b.name;
  });
  return t;
}

absl::StatusOr<TraceSearchResult> SearchTraces(storage::Backend* backend,
                                               const TraceSearchRequest& request,
                                               const TraceSearchLimits& limits) {
  TraceSearchResult result;
  query::SearchQuery q;
  q.range = request.range;
  q.filters = request.filters;
  q.sort = {query::SortField::kStartTime, /*ascending=*/false};
  q.page_size = query::kMaxPageSize;
  absl::flat_hash_set<TraceId> seen;
  size_t examined_spans = 0;
  for (;;) {
    ASSIGN_OR_RETURN(query::SearchResult page, backend->Search(q));
    for (const model::StoredSpan& s : page.spans) {
      if (!seen.insert(s.span.trace_id).second) continue;
      if (seen.size() > limits.max_examined_traces) {
        result.partial = true;
        return result;
      }
      query::TraceQuery tq;
      tq.trace_id = s.span.trace_id;
      tq.page_size = kMaxSummarySpans;
      absl::StatusOr<query::TraceResult> trace = backend->GetTrace(tq);
      if (absl::IsNotFound(trace.status())) continue;  // removed by retention meanwhile
      if (!trace.ok()) return trace.status();
      TraceSummary summary =
          SummarizeTrace(s.span.trace_id, trace->spans, !trace->next.has_value());
      if (!Passes(summary, request)) continue;
      result.traces.push_back(std::move(summary));
      if (result.traces.size() == request.limit) return result;
    }
    examined_spans += page.spans.size();
    if (!page.next.has_value()) return result;
    if (examined_spans >= limits.max_examined_spans) {
      result.partial = true;
      return result;
    }
    q.after = page.next;
  }
}

}  // namespace teletrace::api::v1
