#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "query/engine.h"
#include "query/percentile.h"
#include "query/range_count.h"
#include "query/values.h"

namespace teletrace::query {
namespace {

// A duration sketch with the exact bounds of the values it holds, which its extreme ranks read.
struct BoundedSketch {
  DurationSketchSum sketch;
  double min = 0;
  double max = 0;

  bool Empty() const { return sketch.Empty(); }
  // Adds values summarised elsewhere, whose bounds are [lo, hi].
  void Merge(const DurationSketch& other, double lo, double hi) {
    min = Empty() ? lo : std::min(min, lo);
    max = Empty() ? hi : std::max(max, hi);
    sketch.Merge(other);
  }
  void Merge(BoundedSketch& other) { Merge(other.sketch.Get(), other.min, other.max); }
  void Add(const std::vector<double>& values) {
    if (values.empty()) return;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    min = Empty() ? *lo : std::min(min, *lo);
    max = Empty() ? *hi : std::max(max, *hi);
    sketch.Add(values);
  }
  // Each percentile's nearest rank, read from the sketch.
  std::map<std::string, double> Ranks(const std::vector<double>& percentiles) {
    const DurationSketch& all = sketch.Get();
    std::map<std::string, double> out;
    for (double p : percentiles) {
      out[PercentileLabel(p)] = ApproximateRank(all, NearestRankIndex(all.Count(), p), min, max);
    }
    return out;
  }
};

struct BucketState {
  uint64_t count = 0;
  std::map<TagValue, uint64_t, TagValueLess> groups;  // COUNT with group_by
  std::set<TagValue, TagValueLess> distinct;          // DISTINCT_COUNT
  std::vector<double> values;                         // PERCENTILES
  struct GroupValues {
    uint64_t spans = 0;
    std::vector<double> values;
    // Approximate duration percentiles: once a group has kExactGroupValues values they go to its
    // sketch, so memory stays bounded per group.
    BoundedSketch sketch;
    void Fold() {
      sketch.Add(values);
      values.clear();
    }
  };
  std::map<TagValue, GroupValues, TagValueLess> group_values;  // PERCENTILES, grouped
  std::vector<uint64_t> ranges;                       // RANGE_COUNT: spans per range
  // PERCENTILES of blocks added whole (approximate queries): their durations.
  BoundedSketch sketch;
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

// Keys with at most one value on a span: attributes of the span, its resource or its scope (the
// last occurrence) and intrinsics other than those of events and links.
bool OneValuePerSpan(const Key& key) {
  switch (key.level) {
    case KeyLevel::kEvent:
    case KeyLevel::kLink:
      return false;
    case KeyLevel::kIntrinsic:
      return key.intrinsic != Intrinsic::kEventName && key.intrinsic != Intrinsic::kLinkTraceId &&
             key.intrinsic != Intrinsic::kLinkSpanId;
    default:
      return true;
  }
}

// Calls fn with the entry of `groups` (made when new) of each distinct value `group_by` has on
// `span`.
template <typename Groups, typename Fn>
void ForEachGroup(const Key& group_by, const model::StoredSpan& span, Groups& groups, Fn&& fn) {
  if (OneValuePerSpan(group_by)) {
    // No list to build and deduplicate; a string (a service name) is looked up without a copy.
    AnyValueOf(group_by, span, [&](const model::AnyValue& v) {
      if (const auto* s = std::get_if<std::string>(&v.value)) {
        auto it = groups.find(std::string_view(*s));
        if (it == groups.end()) it = groups.try_emplace(TagValue(*s)).first;
        fn(it->second);
      } else if (std::optional<TagValue> tv = ToTagValue(v)) {
        fn(groups[std::move(*tv)]);
      }
      return false;
    });
  } else {
    for (TagValue& v : DistinctValues(group_by, span)) fn(groups[std::move(v)]);
  }
}

// Calls fn(double) with each numeric value `key` has on `span`, NaN left out.
template <typename Fn>
void ForEachNumber(const Key& key, const model::StoredSpan& span, Fn&& fn) {
  AnyValueOf(key, span, [&](const model::AnyValue& v) {
    if (std::optional<Number> n = AsNumber(v)) {
      double d = ToDouble(*n);
      if (!std::isnan(d)) fn(d);
    }
    return false;
  });
}

// `sketch_groups`: the aggregation is grouped duration percentiles the query lets be approximate.
void AddToBucket(const Aggregation& agg, const model::StoredSpan& span, BucketState& bucket,
                 bool sketch_groups) {
  ++bucket.count;
  switch (agg.func) {
    case AggregationFunc::kCount:
      if (agg.group_by.has_value()) {
        ForEachGroup(*agg.group_by, span, bucket.groups, [](uint64_t& spans) { ++spans; });
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
        ForEachGroup(*agg.group_by, span, bucket.group_values, [&](BucketState::GroupValues& group) {
          ++group.spans;
          ForEachNumber(*agg.key, span, [&group](double d) { group.values.push_back(d); });
          if (sketch_groups && group.values.size() >= kExactGroupValues) group.Fold();
        });
      } else {
        ForEachNumber(*agg.key, span, [&bucket](double d) { bucket.values.push_back(d); });
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
      if (!agg.group_by.has_value() && !bucket.sketch.Empty()) {
        // Approximate: every value in the sketch, each rank read from it.
        bucket.sketch.Add(bucket.values);
        return bucket.sketch.Ranks(agg.percentiles);
      }
      if (!agg.group_by.has_value()) return ranks(bucket.values);
      GroupedPercentiles grouped;
      grouped.total_count = bucket.count;
      for (auto& [key, group] : bucket.group_values) {
        grouped.groups.push_back({key, group.spans, {}});
      }
      KeepLargestGroups(grouped.groups, agg.max_groups);
      for (GroupPercentiles& g : grouped.groups) {
        BucketState::GroupValues& group = bucket.group_values[g.key];
        if (group.sketch.Empty()) {
          g.percentiles = ranks(group.values);
          continue;
        }
        group.Fold();
        g.percentiles = group.sketch.Ranks(agg.percentiles);
      }
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

// Adds `from` (a later part of the spans) to `into`. Map entries already in `into` keep their key,
// which is the first added of equal values (0.0 and -0.0), and values are appended after those
// already there: what adding from's spans one by one after into's would have given.
void MergeBucket(BucketState& into, BucketState&& from, bool sketch_groups) {
  into.count += from.count;
  for (auto& [value, n] : from.groups) into.groups[value] += n;
  for (const TagValue& value : from.distinct) into.distinct.insert(value);
  into.values.insert(into.values.end(), from.values.begin(), from.values.end());
  for (auto& [value, group] : from.group_values) {
    BucketState::GroupValues& to = into.group_values[value];
    to.spans += group.spans;
    to.values.insert(to.values.end(), group.values.begin(), group.values.end());
    if (!group.sketch.Empty()) to.sketch.Merge(group.sketch);
    if (sketch_groups && (to.values.size() >= kExactGroupValues || !to.sketch.Empty())) to.Fold();
  }
  if (into.ranges.empty()) {
    into.ranges = std::move(from.ranges);
  } else {
    for (size_t i = 0; i < from.ranges.size(); ++i) into.ranges[i] += from.ranges[i];
  }
  if (!from.sketch.Empty()) into.sketch.Merge(from.sketch);
}

}  // namespace

// What every part of one query shares, read-only.
struct HistogramCollector::Plan {
  explicit Plan(const HistogramQuery& q) : query(q), matcher(q.filters) {
    for (const Aggregation& agg : q.aggregations) {
      sketch_groups.push_back(q.approximate && agg.func == AggregationFunc::kPercentiles &&
                              agg.group_by.has_value() && agg.key.has_value() &&
                              IsDurationKey(*agg.key));
    }
  }
  HistogramQuery query;
  SpanMatcher matcher;
  std::vector<bool> sketch_groups;  // per aggregation: AddToBucket's
};

// Applies the query's range and filters itself (see TagValuesCollector). A bucket exists when at
// least one matching span starts in it, so every histogram of one query has the same buckets.
struct HistogramCollector::State {
  explicit State(std::shared_ptr<const Plan> p)
      : plan(std::move(p)), query(plan->query), buckets(query.aggregations.size()) {}

  std::shared_ptr<const Plan> plan;
  const HistogramQuery& query;  // plan's
  std::vector<std::map<uint64_t, BucketState>> buckets;  // per aggregation, by bucket key
  // The bucket of the last span, per aggregation: spans arrive in runs of one bucket (blocks are
  // sorted by start time), so most spans skip the tree lookup. Map nodes never move.
  uint64_t last_key = 0;
  std::vector<BucketState*> last;
};

HistogramCollector::HistogramCollector(const HistogramQuery& query)
    : HistogramCollector(std::make_shared<const Plan>(query)) {}

HistogramCollector::HistogramCollector(std::shared_ptr<const Plan> plan)
    : state_(std::make_shared<State>(std::move(plan))) {}

HistogramCollector HistogramCollector::Part() const { return HistogramCollector(state_->plan); }

void HistogramCollector::Merge(HistogramCollector&& part) {
  State& st = *state_;
  for (size_t i = 0; i < st.buckets.size(); ++i) {
    for (auto& [key, bucket] : part.state_->buckets[i]) {
      MergeBucket(st.buckets[i][key], std::move(bucket), st.plan->sketch_groups[i]);
    }
  }
}

void HistogramCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (!InRange(st.query.range, span) || !st.plan->matcher.Matches(span)) return;
  const uint64_t bucket_key = BucketKey(span.span.start_time_unix_nano);
  if (st.last.empty() || bucket_key != st.last_key) {
    st.last.resize(st.query.aggregations.size());
    for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
      st.last[i] = &st.buckets[i][bucket_key];
    }
    st.last_key = bucket_key;
  }
  for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
    AddToBucket(st.query.aggregations[i], span, *st.last[i], st.plan->sketch_groups[i]);
  }
}

bool HistogramCollector::TakesAggregates() const {
  const State& st = *state_;
  return std::all_of(st.query.aggregations.begin(), st.query.aggregations.end(),
                     [&st](const Aggregation& agg) {
                       switch (agg.func) {
                         case AggregationFunc::kCount:
                         case AggregationFunc::kDistinctCount:
                           return true;
                         case AggregationFunc::kPercentiles:
                           return !agg.key.has_value() ||
                                  (st.query.approximate && IsDurationKey(*agg.key) &&
                                   (!agg.group_by.has_value() || OneValuePerSpan(*agg.group_by)));
                         case AggregationFunc::kRangeCount:
                           return false;
                       }
                       return false;
                     });
}

const std::optional<Key>& CountedKeyOf(const Aggregation& agg) {
  static const std::optional<Key> kNone;
  if (agg.func == AggregationFunc::kCount) return agg.group_by;
  if (agg.func == AggregationFunc::kDistinctCount) return agg.key;
  return kNone;
}

const std::optional<Key>& GroupedDurationsKeyOf(const Aggregation& agg) {
  static const std::optional<Key> kNone;
  if (agg.func == AggregationFunc::kPercentiles && agg.key.has_value()) return agg.group_by;
  return kNone;
}

bool HistogramCollector::CanAddAggregates(const DurationAggregates& durations,
                                          const BlockCountsFn& counts,
                                          const BlockDurationsFn& grouped) const {
  if (!TakesAggregates()) return false;
  if (durations.count == 0) return true;
  if (durations.max > static_cast<uint64_t>(INT64_MAX)) return false;
  return std::all_of(
      state_->query.aggregations.begin(), state_->query.aggregations.end(),
      [&](const Aggregation& agg) {
        const std::optional<Key>& key = CountedKeyOf(agg);
        const std::optional<Key>& by = GroupedDurationsKeyOf(agg);
        return (!key.has_value() || counts(*key, [](const TagValue&, uint64_t) {})) &&
               (!by.has_value() ||
                (grouped && grouped(*by, [](const TagValue&, const DurationAggregates&) {})));
      });
}

bool HistogramCollector::AddAggregates(uint64_t start_unix_nano,
                                       const DurationAggregates& durations,
                                       const BlockCountsFn& counts,
                                       const BlockDurationsFn& grouped) {
  State& st = *state_;
  if (!CanAddAggregates(durations, counts, grouped)) return false;
  if (durations.count == 0) return true;
  std::vector<std::vector<std::pair<TagValue, uint64_t>>> values(st.query.aggregations.size());
  for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
    const std::optional<Key>& key = CountedKeyOf(st.query.aggregations[i]);
    auto keep = [&values, i](const TagValue& v, uint64_t n) { values[i].emplace_back(v, n); };
    if (key.has_value()) counts(*key, keep);
  }
  const uint64_t bucket_key = BucketKey(start_unix_nano);
  for (size_t i = 0; i < st.query.aggregations.size(); ++i) {
    const Aggregation& agg = st.query.aggregations[i];
    BucketState& bucket = st.buckets[i][bucket_key];
    bucket.count += durations.count;
    if (agg.func == AggregationFunc::kCount) {
      for (const auto& [v, n] : values[i]) bucket.groups[v] += n;
    } else if (agg.func == AggregationFunc::kDistinctCount) {
      for (const auto& [v, n] : values[i]) bucket.distinct.insert(v);
    } else if (agg.func == AggregationFunc::kPercentiles && agg.group_by.has_value() &&
               agg.key.has_value()) {
      grouped(*agg.group_by, [&bucket](const TagValue& v, const DurationAggregates& d) {
        BucketState::GroupValues& group = bucket.group_values[v];
        group.spans += d.count;
        group.sketch.Merge(d.sketch, static_cast<double>(d.min), static_cast<double>(d.max));
      });
    } else if (agg.func == AggregationFunc::kPercentiles && agg.key.has_value()) {
      bucket.sketch.Merge(durations.sketch, static_cast<double>(durations.min),
                          static_cast<double>(durations.max));
    }
  }
  return true;
}

uint64_t HistogramCollector::BucketKey(uint64_t start_unix_nano) const {
  const uint64_t interval = state_->query.interval_nano;
  return interval == 0 ? start_unix_nano : start_unix_nano - start_unix_nano % interval;
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
