#include <map>
#include <set>
#include <utility>

#include "query/engine.h"

namespace teletrace::query {
namespace {

// A span's place in a trace: start time, then span id (unique within a trace after dedupe).
using TracePosition = std::pair<uint64_t, SpanId>;

TracePosition PositionInTrace(const model::StoredSpan& span) {
  return {span.span.start_time_unix_nano, span.span.span_id};
}

}  // namespace

struct TraceCollector::State {
  TraceQuery query;
  std::set<SpanId> seen;  // every span id added; the first copy of a span wins
  // With a page size, only the first page_size + 1 after the cursor: the extra one proves a next
  // page exists. Without one, every span (a trace is never truncated).
  std::map<TracePosition, model::StoredSpan> kept;
};

TraceCollector::TraceCollector(const TraceQuery& query) : state_(std::make_shared<State>()) {
  state_->query = query;
}

void TraceCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (!st.seen.insert(span.span.span_id).second) return;
  TracePosition position = PositionInTrace(span);
  if (st.query.after.has_value() &&
      position <= TracePosition{st.query.after->sort_value, st.query.after->span_id}) {
    return;
  }
  const size_t page_size = st.query.page_size;
  if (page_size > 0 && st.kept.size() >= page_size + 1 &&
      position >= std::prev(st.kept.end())->first) {
    return;
  }
  st.kept.emplace(position, span);
  if (page_size > 0 && st.kept.size() > page_size + 1) st.kept.erase(std::prev(st.kept.end()));
}

TraceResult TraceCollector::Finish() && {
  State& st = *state_;
  TraceResult result;
  const size_t page_size = st.query.page_size;
  const size_t n = page_size == 0 ? st.kept.size() : std::min(page_size, st.kept.size());
  result.spans.reserve(n);
  while (!st.kept.empty() && result.spans.size() < n) {
    auto node = st.kept.extract(st.kept.begin());
    result.spans.push_back(std::move(node.mapped()));
    if (result.spans.size() == n && !st.kept.empty()) {
      result.next = Cursor{node.key().first, st.query.trace_id, node.key().second};
    }
  }
  return result;
}

}  // namespace teletrace::query
