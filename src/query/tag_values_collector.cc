#include <algorithm>
#include <map>

#include "query/engine.h"
#include "query/values.h"

namespace teletrace::query {

// Applies the query's range and filters itself, so a caller may feed it every candidate span;
// feeding only matching spans is equally correct.
struct TagValuesCollector::State {
  explicit State(const TagValuesQuery& q) : query(q), matcher(q.filters) {}

  TagValuesQuery query;
  SpanMatcher matcher;
  std::map<TagValue, uint64_t, TagValueLess> counts;
};

TagValuesCollector::TagValuesCollector(const TagValuesQuery& query)
    : state_(std::make_shared<State>(query)) {}

void TagValuesCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (st.query.range.has_value() && !InRange(*st.query.range, span)) return;
  if (!st.matcher.Matches(span)) return;
  // Span, resource, scope and intrinsic keys have one value per span, so each span counts once
  // per value; event and link keys count each event or link that has the value.
  AnyValueOf(st.query.key, span, [&](const model::AnyValue& v) {
    if (std::optional<TagValue> tv = ToTagValue(v)) ++st.counts[*tv];
    return false;
  });
}

TagValuesResult TagValuesCollector::Finish() && {
  State& st = *state_;
  TagValuesResult result;
  result.total_distinct = st.counts.size();
  result.values.reserve(st.counts.size());
  for (auto& [value, count] : st.counts) result.values.push_back(TagValueCount{value, count});
  // The map is already in value order, so a stable sort by count keeps ties in value order.
  std::stable_sort(
      result.values.begin(), result.values.end(),
      [](const TagValueCount& a, const TagValueCount& b) { return a.count > b.count; });
  if (st.query.limit > 0 && result.values.size() > st.query.limit) {
    result.values.resize(st.query.limit);
  }
  return result;
}

}  // namespace teletrace::query
