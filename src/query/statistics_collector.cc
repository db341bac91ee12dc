#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "query/engine.h"
#include "query/percentile.h"
#include "query/values.h"

namespace teletrace::query {

// Applies the query's range and filters itself (see TagValuesCollector). Values are the key's
// int64 and double values (one per event or link for event and link keys); anything else,
// including arrays, is skipped. Percentiles are nearest-rank (see percentile.h).
struct StatisticsCollector::State {
  explicit State(const StatisticsQuery& q) : query(q), matcher(q.filters) {
    for (const Statistic& s : q.wanted) {
      if (s.percentile > 0) percentiles.push_back(s.percentile);
    }
  }

  StatisticsQuery query;
  SpanMatcher matcher;
  std::vector<double> percentiles;  // those wanted, in order: only they need every value
  uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::vector<double> values;
  // Blocks added by AddAggregates (approximate percentiles only); Finish adds `values` to it.
  DurationSketchSum sketch;
};

StatisticsCollector::StatisticsCollector(const StatisticsQuery& query)
    : state_(std::make_shared<State>(query)) {}

void StatisticsCollector::Add(const model::StoredSpan& span) {
  State& st = *state_;
  if (!InRange(st.query.range, span) || !st.matcher.Matches(span)) return;
  AnyValueOf(st.query.key, span, [&](const model::AnyValue& v) {
    std::optional<Number> n = AsNumber(v);
    if (!n.has_value()) return false;
    double d = ToDouble(*n);
    if (std::isnan(d)) return false;  // has no rank, and would break the sort below
    ++st.count;
    st.sum += d;
    st.min = std::min(st.min, d);
    st.max = std::max(st.max, d);
    if (!st.percentiles.empty()) st.values.push_back(d);
    return false;
  });
}

bool StatisticsCollector::TakesAggregates() const {
  const State& st = *state_;
  return IsDurationKey(st.query.key) && (st.percentiles.empty() || st.query.approximate);
}

bool StatisticsCollector::AddAggregates(const DurationAggregates& durations) {
  State& st = *state_;
  if (!TakesAggregates()) return false;
  if (durations.count == 0) return true;
  if (durations.max > static_cast<uint64_t>(INT64_MAX)) return false;
  st.count += durations.count;
  st.sum += static_cast<double>(durations.sum);
  st.min = std::min(st.min, static_cast<double>(durations.min));
  st.max = std::max(st.max, static_cast<double>(durations.max));
  if (!st.percentiles.empty()) st.sketch.Merge(durations.sketch);
  return true;
}

StatisticsResult NamedStatistics(const std::vector<Statistic>& wanted, uint64_t count, double min,
                                 double max, double sum, const std::vector<double>& ranked) {
  StatisticsResult result;
  if (count == 0) return result;
  size_t next_ranked = 0;
  for (const Statistic& s : wanted) {
    if (s.name == "min") {
      result[s.name] = min;
    } else if (s.name == "max") {
      result[s.name] = max;
    } else if (s.name == "avg") {
      result[s.name] = sum / static_cast<double>(count);
    } else if (s.name == "sum") {
      result[s.name] = sum;
    } else if (s.name == "count") {
      result[s.name] = static_cast<double>(count);
    } else if (s.percentile > 0 && next_ranked < ranked.size()) {
      result[s.name] = ranked[next_ranked++];
    }
  }
  return result;
}

StatisticsResult StatisticsCollector::Finish() && {
  State& st = *state_;
  if (st.count == 0) return {};
  std::vector<double> ranked;
  if (!st.sketch.Empty()) {
    // Approximate: every value in the sketch, each rank read from it.
    st.sketch.Add(st.values);
    const DurationSketch& all = st.sketch.Get();
    for (double p : st.percentiles) {
      ranked.push_back(ApproximateRank(all, NearestRankIndex(all.Count(), p), st.min, st.max));
    }
  } else if (!st.values.empty()) {
    ranked = NearestRanks(st.values, st.percentiles);  // every percentile by selection, at once
  }
  return NamedStatistics(st.query.wanted, st.count, st.min, st.max, st.sum, ranked);
}

}  // namespace teletrace::query
