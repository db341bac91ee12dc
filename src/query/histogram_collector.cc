#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "query/engine.h"
#include "query/percentile.h"
#include "query/range_count.h"
#include "query/values.h"

namespace teletrace::query {
namespace {

struct BucketState {
  uint64_t count = 0;
  std::map<TagValue, uint64_t, TagValueLess> groups;  // COUNT with group_by
  std::set<TagValue, TagValueLess> distinct;          // DISTINCT_COUNT
  std::vector<double> values;                         // PERCENTILES
  std::map<TagValue, std::vector<double>, TagValueLess> group_values;  // PERCENTILES, grouped
  std::vector<uint64_t> ranges;                       // RANGE_COUNT: spans per range
};

// The distinct scalar values `key` has on `span`: a span counts once per value even when several
// events carry it.
std::vector<TagValue> DistinctValues(const Key& key, const model::StoredSpan& span) {
  std::vector<TagValue> out;
  AnyValueOf(key, span, [&](const model::AnyValue& v) {
    if (std::optional<TagValue> tv = ToTagValue(v)) out.push_back(std::move(*tv));
    return false;
  });
  if (out.size() > 1) {
    std::sort(out.begin(), out.end(), TagValueLess());
    out.erase(std::unique(out.begin(), out.end(),
                          [](const TagValue& a, const TagValue& b) {
                            return CompareTagValues(a, b) == 0;
                          }),
              out.end());
  }
  return out;
}

// Intrinsics other than those of events and links have exactly one value on every span.
bool OneValuePerSpan(const Key& key) {
  return key.level == KeyLevel::kIntrinsic && key.intrinsic != Intrinsic::kEventName &&
         key.intrinsic != Intrinsic::kLinkTraceId && key.intrinsic != Intrinsic::kLinkSpanId;
}

// Calls fn once per distinct value `group_by` has on `span`.
template <typename Fn>
void ForEachGroup(const Key& group_by, const model::StoredSpan& span, Fn&& fn) {
  if (OneValuePerSpan(group_by)) {
    // No list to build and deduplicate.
    AnyValueOf(group_by, span, [&](const model::AnyValue& v) {
      if (std::optional<TagValue> tv = ToTagValue(v)) fn(std::move(*tv));
      return false;
    });
  } else {
    for (TagValue& v : DistinctValues(group_by, span)) fn(std::move(v));
  }
}

// The numeric values `key` has on `span`, NaN left out.
std::vector<double> NumericValues(const Key& key, const model::StoredSpan& span) {
  std::vector<double> out;
  AnyValueOf(key, span, [&](const model::AnyValue& v) {
    if (std::optional<Number> n = AsNumber(v)) {
      double d = ToDouble(*n);
      if (!std::isnan(d)) out.push_back(d);
    }
    return false;
  });
  return out;
}

void AddToBucket(const Aggregation& agg, const model::StoredSpan& span, BucketState& bucket) {
  ++bucket.count;
  switch (agg.func) {
    case AggregationFunc::kCount:
      if (agg.group_by.has_value()) {
        ForEachGroup(*agg.group_by, span, [&](TagValue v) { ++bucket.groups[std::move(v)]; });
      }
      break;
    case AggregationFunc::kDistinctCount:
      if (agg.key.has_value()) {
        for (TagValue& v : DistinctValues(*agg.key, span)) bucket.distinct.insert(std::move(v));
      }
      break;
    case AggregationFunc::kPercentiles:
      if (!agg.key.has_value()) break;
      if (agg.group_by.has_value()) {
        std::vector<double> values;
        bool read = false;
        ForEachGroup(*agg.group_by, span, [&](TagValue v) {
          if (!read) {
            values = NumericValues(*agg.key, span);
            read = true;
          }
          ++bucket.groups[v];
          std::vector<double>& into = bucket.group_values[std::move(v)];
          into.insert(into.end(), values.begin(), values.end());
        });
      } else {
        for (double d : NumericValues(*agg.key, span)) bucket.values.push_back(d);
      }
      break;
    case AggregationFunc::kRangeCount: {
      if (!agg.key.has_value() || agg.bounds.empty()) break;
      if (bucket.ranges.empty()) bucket.ranges.assign(agg.bounds.size(), 0);
      // A span counts once per range, however many of its values fall in it.
      size_t first = SIZE_MAX;
      std::vector<size_t> more;
      AnyValueOf(*agg.key, span, [&](const model::AnyValue& v) {
        std::optional<Number> n = AsNumber(v);
        if (!n) return false;
        const double d = ToDouble(*n);
        if (std::isnan(d)) return false;
        const size_t i = RangeIndex(agg.bounds, d);
        if (first == SIZE_MAX) {
          first = i;
        } else if (i != first) {
          more.push_back(i);
        }
        return false;
      });
      if (first == SIZE_MAX) break;
      ++bucket.ranges[first];
      std::sort(more.begin(), more.end());
      more.erase(std::unique(more.begin(), more.end()), more.end());
      for (size_t i : more) ++bucket.ranges[i];
      break;
    }
  }
}

BucketData Summarise(const Aggregation& agg, BucketState& bucket) {
  switch (agg.func) {
    case AggregationFunc::kCount: {
      if (!agg.group_by.has_value()) return bucket.count;
      GroupedCount grouped;
      grouped.total_count = bucket.count;
      for (auto& [key, count] : bucket.groups) grouped.sub_buckets.push_back(SubBucket{key, count});
      // Groups come out of the map in key order, which ties keep.
      KeepLargestGroups(grouped.sub_buckets, agg.max_groups);
      return grouped;
    }
    case AggregationFunc::kDistinctCount:
      return static_cast<uint64_t>(bucket.distinct.size());
    case AggregationFunc::kPercentiles: {
      auto ranks = [&agg](std::vector<double>& values) {
        std::map<std::string, double> out;
        if (values.empty()) return out;
        const std::vector<double> ranked = NearestRanks(values, agg.percentiles);
        for (size_t i = 0; i < agg.percentiles.size(); ++i) {
          out[PercentileLabel(agg.percentiles[i])] = ranked[i];
        }
        return out;
      };
      if (!agg.group_by.has_value()) return ranks(bucket.values);
      GroupedPercentiles grouped;
      grouped.total_count = bucket.count;
      for (auto& [key, count] : bucket.groups) grouped.groups.push_back({key, count, {}});
      KeepLargestGroups(grouped.groups, agg.max_groups);
      for (GroupPercentiles& g : grouped.groups) g.percentiles = ranks(bucket.group_values[g.key]);
      return grouped;
    }
    case AggregationFunc::kRangeCount: {
      GroupedCount grouped;
      grouped.total_count = bucket.count;
      for (size_t i = 0; i < bucket.ranges.size(); ++i) {
        if (bucket.ranges[i] > 0) {
          grouped.sub_buckets.push_back(SubBucket{RangeKey(agg.bounds[i]), bucket.ranges[i]});
        }
      }
      return grouped;
    }
  }
  return bucket.count;
}

}  // namespace

// Applies the query's range and filters itself (see TagValuesCollector). A bucket exists when at
// least one matching span starts in it, so every histogram of one query has the same buckets.
struct HistogramCollector::State {
  explicit State(const HistogramQuery& q)
      : query(q), matcher(q.filters), buckets(q.aggregations.size()) {}

  HistogramQuery query;
  SpanMatcher matcher;
  std::vector<std::map<uint64_t, BucketState>> buckets;  // per aggregation, by bucket key
  // The bucket of the last span, per aggregation: spans arrive in runs of one bucket (blocks are
  // sorted by start time), so most spans skip the tree lookup. Map nodes never move.
  uint64_t last_key = 0;
  std::vector<BucketState*> last;
};

HistogramCollector::HistogramCollector(const HistogramQuery& query)
    : state_(std::make_shared<State>(query)) {}

void HistogramCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (!InRange(st.query.range, span) || !st.matcher.Matches(span)) return;
  const uint64_t start = span.span.start_time_unix_nano;
  const uint64_t interval = st.query.interval_nano;
  const uint64_t bucket_key = interval == 0 ? start : start - start % interval;
  if (st.last.empty() || bucket_key != st.last_key) {
    st.last.resize(st.query.aggregations.size());
    for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
      st.last[i] = &st.buckets[i][bucket_key];
    }
    st.last_key = bucket_key;
  }
  for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
    AddToBucket(st.query.aggregations[i], span, *st.last[i]);
  }
}

HistogramResult HistogramCollector::Finish() && {
  State& st = *state_;
  HistogramResult result;
  result.reserve(st.query.aggregations.size());
  for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
    const Aggregation& agg = st.query.aggregations[i];
    Histogram h;
    h.label = agg.label;
    for (auto& [key, bucket] : st.buckets[i]) {
      h.buckets.push_back(HistogramBucket{key, Summarise(agg, bucket)});
    }
    result.push_back(std::move(h));
  }
  return result;
}

}  // namespace teletrace::query
