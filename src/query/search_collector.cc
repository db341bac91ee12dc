#include <algorithm>
#include <set>
#include <utility>

#include "query/engine.h"

namespace teletrace::query {
namespace {

struct Entry {
  Cursor position;
  model::StoredSpan span;
};

struct EntryOrder {
  Sort sort;
  bool operator()(const Entry& a, const Entry& b) const {
    return ComparePositions(sort, a.position, b.position) < 0;
  }
};

}  // namespace

// Keeps the best page_size + 1 spans after the cursor: the extra one only proves that a next page
// exists, so memory stays bounded by the page, not by the number of matches.
struct SearchCollector::State {
  explicit State(const SearchQuery& q)
      : sort(q.sort),
        page_size(std::max<size_t>(q.page_size, 1)),
        after(q.after),
        kept(EntryOrder{q.sort}) {}

  size_t Limit() const { return page_size + 1; }

  Sort sort;
  size_t page_size;
  std::optional<Cursor> after;
  std::set<Entry, EntryOrder> kept;
  // Ids of the kept spans: a span stored twice (re-sent by a client) is returned once.
  std::set<std::pair<TraceId, SpanId>> kept_ids;
};

SearchCollector::SearchCollector(const SearchQuery& query)
    : state_(std::make_shared<State>(query)) {}

void SearchCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  Cursor position = PositionOf(st.sort, span);
  if (st.after.has_value() && ComparePositions(st.sort, position, *st.after) <= 0) return;
  if (st.kept.size() >= st.Limit() &&
      ComparePositions(st.sort, position, std::prev(st.kept.end())->position) >= 0) {
    return;
  }
  auto id = std::make_pair(span.span.trace_id, span.span.span_id);
  if (!st.kept_ids.insert(id).second) return;
  st.kept.insert(Entry{position, span});
  if (st.kept.size() > st.Limit()) {
    auto last = std::prev(st.kept.end());
    st.kept_ids.erase(std::make_pair(last->span.span.trace_id, last->span.span.span_id));
    st.kept.erase(last);
  }
}

bool SearchCollector::Bound::CanSkip(uint64_t min_sort_value, uint64_t max_sort_value) const {
  // Equal sort values are never skipped: ties are broken by ids, which a block range cannot show.
  if (after_.has_value() &&
      (ascending_ ? max_sort_value < *after_ : min_sort_value > *after_)) {
    return true;
  }
  return worst_.has_value() && (ascending_ ? min_sort_value > *worst_ : max_sort_value < *worst_);
}

SearchCollector::Bound SearchCollector::Snapshot() const {
  const State& st = *state_;
  Bound bound;
  bound.ascending_ = st.sort.ascending;
  bound.page_limit_ = st.Limit();
  if (st.after.has_value()) bound.after_ = st.after->sort_value;
  if (st.kept.size() >= st.Limit()) bound.worst_ = std::prev(st.kept.end())->position.sort_value;
  return bound;
}

bool SearchCollector::CanSkip(uint64_t min_sort_value, uint64_t max_sort_value) const {
  return Snapshot().CanSkip(min_sort_value, max_sort_value);
}

SearchResult SearchCollector::Finish() && {
  State& st = *state_;
  SearchResult result;
  result.spans.reserve(std::min(st.kept.size(), st.page_size));
  while (!st.kept.empty() && result.spans.size() < st.page_size) {
    auto node = st.kept.extract(st.kept.begin());
    result.spans.push_back(std::move(node.value().span));
    if (result.spans.size() == st.page_size && !st.kept.empty()) {
      result.next = node.value().position;
    }
  }
  return result;
}

}  // namespace teletrace::query
