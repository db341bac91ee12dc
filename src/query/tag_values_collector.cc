#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

#include "query/engine.h"
#include "query/values.h"

namespace teletrace::query {
namespace {

// Hash and equality agreeing with CompareTagValues: 5 and 5.0 are different values, 0.0 and -0.0
// the same, and every NaN one value. Abseil's hash mixes every bit, which the open-addressing
// table needs (std::hash of an integer is the integer).
struct TagValueHash {
  size_t operator()(const TagValue& v) const {
    if (const auto* s = std::get_if<std::string>(&v)) return absl::Hash<std::string_view>()(*s);
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      return absl::Hash<std::pair<int64_t, int>>()({*i, 1});
    }
    if (const bool* b = std::get_if<bool>(&v)) return absl::Hash<std::pair<bool, int>>()({*b, 3});
    double d = std::get<double>(v);
    if (std::isnan(d)) return 0x5BD1E995u;
    if (d == 0) d = 0;  // -0.0 equals 0.0
    return absl::Hash<std::pair<double, int>>()({d, 2});
  }
};

struct TagValueEqual {
  bool operator()(const TagValue& a, const TagValue& b) const {
    // Strings first: a high-cardinality key's every lookup compares two of them.
    const auto* sa = std::get_if<std::string>(&a);
    const auto* sb = std::get_if<std::string>(&b);
    if (sa != nullptr || sb != nullptr) return sa != nullptr && sb != nullptr && *sa == *sb;
    return CompareTagValues(a, b) == 0;
  }
};

// The values Add counts for `key` on `span`; one template shared with ForEachCountedValue so that
// precomputed block counts agree with decoding by construction, without a std::function call per
// span on the decode path.
template <typename Fn>
void CountedValuesOf(const Key& key, const model::StoredSpan& span, Fn&& fn) {
  AnyValueOf(key, span, [&](const model::AnyValue& v) {
    if (std::optional<TagValue> tv = ToTagValue(v)) fn(*tv);
    return false;
  });
}

}  // namespace

// Applies the query's range and filters itself, so a caller may feed it every candidate span;
// feeding only matching spans is equally correct.
struct TagValuesCollector::State {
  explicit State(const TagValuesQuery& q) : query(q), matcher(q.filters) {}

  TagValuesQuery query;
  SpanMatcher matcher;
  // Hashed rather than ordered (high-cardinality keys spent most of their time in tree inserts),
  // in one flat table rather than a node per value (then in allocation and cache misses).
  absl::flat_hash_map<TagValue, uint64_t, TagValueHash, TagValueEqual> counts;
  // Whether `counts` holds a string; distinct strings AddDistinctStrings counted but left out of
  // `counts` (none of them on the page).
  bool has_strings = false;
  uint64_t strings_left_out = 0;

  void Count(const TagValue& value, uint64_t count) {
    has_strings = has_strings || std::holds_alternative<std::string>(value);
    counts[value] += count;
  }
  void Count(TagValue&& value, uint64_t count) {
    has_strings = has_strings || std::holds_alternative<std::string>(value);
    counts[std::move(value)] += count;
  }
};

TagValuesCollector::TagValuesCollector(const TagValuesQuery& query)
    : state_(std::make_shared<State>(query)) {}

void TagValuesCollector::Reserve(size_t values) { state_->counts.reserve(values); }

void TagValuesCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (st.query.range.has_value() && !InRange(*st.query.range, span)) return;
  if (!st.matcher.Matches(span)) return;
  // Span, resource, scope and intrinsic keys have one value per span, so each span counts once
  // per value; event and link keys count each event or link that has the value.
  CountedValuesOf(st.query.key, span, [&](const TagValue& v) { st.Count(v, 1); });
}

void TagValuesCollector::ForEachCountedValue(const Key& key, const model::StoredSpan& span,
                                             const std::function<void(const TagValue&)>& fn) {
  CountedValuesOf(key, span, fn);
}

void TagValuesCollector::AddCounted(const TagValue& value, uint64_t count) {
  if (count == 0) return;
  state_->Count(value, count);
}

void TagValuesCollector::AddCounted(TagValue&& value, uint64_t count) {
  if (count == 0) return;
  state_->Count(std::move(value), count);
}

void TagValuesCollector::AddAll(const TagValuesCollector& part) {
  State& st = *state_;
  st.has_strings = st.has_strings || part.state_->has_strings;
  for (const auto& [value, count] : part.state_->counts) st.counts[value] += count;
  st.strings_left_out += part.state_->strings_left_out;
}

void TagValuesCollector::AddDistinctStrings(
    std::vector<std::pair<std::string_view, uint64_t>> strings) {
  State& st = *state_;
  std::erase_if(strings, [](const auto& entry) { return entry.second == 0; });
  const size_t limit = st.query.limit;
  // Counted strings could be among these, whose sums could then reach the page: all are added.
  if (!st.has_strings && limit > 0 && strings.size() > limit) {
    // The page is the first `limit` values of all in Finish's order. These strings are distinct
    // from every value counted (no string was), so the page's strings are among their first
    // `limit` in that order.
    std::nth_element(strings.begin(), strings.begin() + static_cast<ptrdiff_t>(limit - 1),
                     strings.end(), [](const auto& a, const auto& b) {
                       return a.second != b.second ? a.second > b.second : a.first < b.first;
                     });
    st.strings_left_out += strings.size() - limit;
    strings.resize(limit);
  }
  st.counts.reserve(st.counts.size() + strings.size());
  for (const auto& [string, count] : strings) st.Count(TagValue(std::string(string)), count);
}

TagValuesResult TagValuesCollector::Finish() && {
  State& st = *state_;
  TagValuesResult result;
  result.total_distinct = st.counts.size() + st.strings_left_out;
  // Count descending, then value ascending: a total order (values are distinct), so sorting only
  // the first `limit` gives the same page as sorting everything. The entries are ordered in place
  // and only the page's values copied (a high-cardinality key's ~300k values were all copied to
  // keep 1,000).
  using Entry = std::pair<const TagValue, uint64_t>;
  std::vector<const Entry*> entries;
  entries.reserve(st.counts.size());
  for (const Entry& entry : st.counts) entries.push_back(&entry);
  auto before = [](const Entry* a, const Entry* b) {
    if (a->second != b->second) return a->second > b->second;
    return CompareTagValues(a->first, b->first) < 0;
  };
  if (st.query.limit > 0 && entries.size() > st.query.limit) {
    std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(st.query.limit),
                      entries.end(), before);
    entries.resize(st.query.limit);
  } else {
    std::sort(entries.begin(), entries.end(), before);
  }
  result.values.reserve(entries.size());
  for (const Entry* entry : entries) result.values.push_back({entry->first, entry->second});
  return result;
}

}  // namespace teletrace::query
