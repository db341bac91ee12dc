#include "storage/elasticsearch/search_aggregations.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "query/duration_sketch.h"
#include "query/engine.h"
#include "query/percentile.h"
#include "query/range_count.h"
#include "query/values.h"
#include "storage/elasticsearch/search_query.h"
#include "storage/elasticsearch/search_response.h"

namespace teletrace::storage::elasticsearch {
namespace {

using json = nlohmann::json;

absl::Status Malformed(std::string_view what) {
  return absl::InternalError(fmt::format("elasticsearch: malformed aggregation answer: {}", what));
}

// The bool query of the range and every filter, or nullopt when a filter has no exact clause.
std::optional<json> ExactQuery(const std::optional<query::TimeRange>& range,
                               const std::vector<query::Filter>& filters) {
  json clauses = json::array();
  if (range) clauses.push_back(StartRangeClause(*range));
  for (const query::Filter& f : filters) {
    std::optional<json> clause = ExactClause(f);
    if (!clause) return std::nullopt;
    clauses.push_back(std::move(*clause));
  }
  return json{{"bool", {{"filter", std::move(clauses)}}}};
}

// The keyword field a group or tag key is pushed down to, or nullptr.
const char* KeywordFieldOf(const query::Key& key) {
  if (query::IsServiceNameKey(key)) return "service";
  if (key.level != query::KeyLevel::kIntrinsic) return nullptr;
  if (key.intrinsic == query::Intrinsic::kStatusCode) return "status";
  if (key.intrinsic == query::Intrinsic::kKind) return "kind";
  if (key.intrinsic == query::Intrinsic::kName) return "name";
  return nullptr;
}

// Terms asked of a keyword field: all of them, since a `terms` list cut short is scanned instead.
// Status and kind have at most 6 values; services and span names beyond these many are scanned.
constexpr uint64_t kTagValueTerms = 10000;
constexpr uint64_t kGroupTerms = 500;

uint64_t GroupTerms(const query::Key& key) {
  const bool name =
      key.level == query::KeyLevel::kIntrinsic && key.intrinsic == query::Intrinsic::kName;
  return query::IsServiceNameKey(key) || name ? kGroupTerms : 8;
}

json DurationStats() { return {{"stats", {{"field", "dur"}}}}; }
// The spans per dur_bucket: a histogram of interval 1 over the small integers (exact in doubles),
// which the engines count faster than `terms` (271 against 360 ms for 1M spans in 61 time buckets
// on OpenSearch), and which leaves no bucket out.
json DurationBuckets() {
  return {{"histogram", {{"field", "dur_bucket"}, {"interval", 1}, {"min_doc_count", 1}}}};
}

// RANGE_COUNT of the duration (query/range_count.h): range i holds the values from bounds[i] up to
// bounds[i + 1], the first also those below bounds[0]. The collector compares double(value) with
// the bounds, and so does the engine's `range` aggregation (from inclusive, to exclusive), on the
// int64 `dur` the matcher sees: the same range for every span.
json DurationRanges(const std::vector<double>& bounds) {
  json ranges = json::array();
  for (size_t i = 0; i < bounds.size(); ++i) {
    json range = json::object();
    if (i > 0) range["from"] = bounds[i];
    if (i + 1 < bounds.size()) range["to"] = bounds[i + 1];
    ranges.push_back(std::move(range));
  }
  return {{"range", {{"field", "dur"}, {"ranges", std::move(ranges)}}}};
}

bool ReadCount(const json* j, uint64_t* out) {
  if (j == nullptr) return false;
  if (j->is_number_unsigned()) {
    *out = j->get<uint64_t>();
    return true;
  }
  if (j->is_number_integer() && j->get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j->get<int64_t>());
    return true;
  }
  return false;
}

bool ReadNumber(const json* j, double* out) {
  if (j == nullptr || !j->is_number()) return false;
  *out = j->get<double>();
  return true;
}

// A search answer's hits.total.value (the search is sent with track_total_hits: true) and its
// aggregations, which are null when nothing matched: a search over no index (none left in the
// range) answers without any.
struct Answer {
  uint64_t spans = 0;
  const json* aggregations = nullptr;
};

absl::StatusOr<Answer> ReadAnswer(const json& answer) {
  const json* hits = Member(answer, "hits");
  const json* total = hits != nullptr ? Member(*hits, "total") : nullptr;
  Answer out;
  if (total == nullptr || !ReadCount(Member(*total, "value"), &out.spans) ||
      StringMember(*total, "relation") != "eq") {
    return Malformed("no exact hits.total");
  }
  if (out.spans == 0) return out;
  out.aggregations = Member(answer, "aggregations");
  if (out.aggregations == nullptr) return Malformed("no aggregations");
  return out;
}

// aggregations.<name> (or <name> inside a bucket).
absl::StatusOr<const json*> AggregationIn(const json& parent, std::string_view name) {
  const json* agg = Member(parent, name);
  if (agg == nullptr || !agg->is_object()) return Malformed(fmt::format("no aggregation {}", name));
  return agg;
}

struct Stats {
  uint64_t count = 0;
  double min = 0, max = 0, sum = 0;
};

absl::StatusOr<Stats> ReadStats(const json& agg) {
  Stats s;
  if (!ReadCount(Member(agg, "count"), &s.count)) return Malformed("stats without a count");
  if (s.count > 0 && (!ReadNumber(Member(agg, "min"), &s.min) ||
                      !ReadNumber(Member(agg, "max"), &s.max) ||
                      !ReadNumber(Member(agg, "sum"), &s.sum))) {
    return Malformed("stats without min, max or sum");
  }
  return s;
}

// A bucket of a terms aggregation on a keyword field: its key, its documents, and the bucket itself
// (for its sub-aggregations). Points into the answer.
struct KeywordTerm {
  const std::string* key = nullptr;
  uint64_t count = 0;
  const json* bucket = nullptr;
};

// A terms aggregation's buckets on a keyword field; nullopt when it left terms out.
absl::StatusOr<std::optional<std::vector<KeywordTerm>>> ReadTerms(const json& agg) {
  uint64_t other = 0;
  const json* buckets = Member(agg, "buckets");
  if (!ReadCount(Member(agg, "sum_other_doc_count"), &other) || buckets == nullptr ||
      !buckets->is_array()) {
    return Malformed("terms without buckets or sum_other_doc_count");
  }
  if (other != 0) return std::nullopt;
  std::vector<KeywordTerm> out;
  for (const json& b : *buckets) {
    const json* key = Member(b, "key");
    uint64_t count = 0;
    if (key == nullptr || !ReadCount(Member(b, "doc_count"), &count)) {
      return Malformed("a terms bucket without key or doc_count");
    }
    if (!key->is_string()) return Malformed("a keyword term that is not a string");
    out.push_back(KeywordTerm{&key->get_ref<const std::string&>(), count, &b});
  }
  return out;
}

// Keyword terms of the key `of` whose counts must add up to `spans` (every document holds the
// field once; a span name too long to index has none). nullopt also for a term the field cannot
// tell apart from another value: the service "" ("no string service.name" too) and text with
// U+FFFD (maybe invalid UTF-8 replaced).
absl::StatusOr<std::optional<std::vector<std::pair<std::string, uint64_t>>>> ReadKeywordCounts(
    const json& agg, uint64_t spans, const query::Key& of) {
  ASSIGN_OR_RETURN(auto terms, ReadTerms(agg));
  if (!terms) return std::nullopt;
  std::vector<std::pair<std::string, uint64_t>> out;
  uint64_t sum = 0;
  for (const KeywordTerm& term : *terms) {
    const std::string& text = *term.key;
    if ((text.empty() && query::IsServiceNameKey(of)) ||
        text.find(kReplacementCharacter) != std::string::npos) {
      return std::nullopt;
    }
    sum += term.count;
    out.emplace_back(text, term.count);
  }
  if (sum != spans) return std::nullopt;  // documents without the field
  return out;
}

// The nearest-rank `percentiles` (in their order) of the durations described by a stats and a
// dur_bucket histogram (DurationBuckets) over `spans` > 0 documents; nullopt when they do not
// cover every document or hold negative durations (no relative bound there).
absl::StatusOr<std::optional<std::vector<double>>> ReadPercentiles(
    const json& stats_agg, const json& buckets_agg, uint64_t spans,
    const std::vector<double>& percentiles) {
  ASSIGN_OR_RETURN(Stats stats, ReadStats(stats_agg));
  const json* buckets = Member(buckets_agg, "buckets");
  if (buckets == nullptr || !buckets->is_array()) {
    return Malformed("duration buckets without buckets");
  }
  std::vector<std::pair<uint32_t, uint64_t>> pairs;
  for (const json& b : *buckets) {
    double key = -1;
    uint64_t count = 0;
    if (!ReadNumber(Member(b, "key"), &key) || !(key >= 0) ||
        key >= query::DurationSketch::kMaxBuckets || std::floor(key) != key) {
      return Malformed("a duration bucket that is not a bucket index");
    }
    if (!ReadCount(Member(b, "doc_count"), &count)) {
      return Malformed("a duration bucket without doc_count");
    }
    pairs.emplace_back(static_cast<uint32_t>(key), count);
  }
  if (stats.count != spans || stats.min < 0) return std::nullopt;
  absl::StatusOr<query::DurationSketch> sketch = query::DurationSketch::FromBuckets(pairs);
  if (!sketch.ok()) return Malformed(std::string(sketch.status().message()));
  if (sketch->Count() != spans) return std::nullopt;
  std::vector<double> out;
  for (double p : percentiles) {
    out.push_back(query::ApproximateRank(*sketch, query::NearestRankIndex(spans, p), stats.min,
                                         stats.max));
  }
  return out;
}

// The spans per duration range (DurationRanges) of a time bucket of `spans`, as RANGE_COUNT
// answers them: the non-empty ranges in ascending order, keyed by their lower bound; nullopt when
// they do not hold every span (documents without `dur`).
absl::StatusOr<std::optional<query::GroupedCount>> ReadRanges(const json& agg,
                                                              const std::vector<double>& bounds,
                                                              uint64_t spans) {
  const json* buckets = Member(agg, "buckets");
  if (buckets == nullptr || !buckets->is_array() || buckets->size() != bounds.size()) {
    return Malformed(fmt::format("not {} duration ranges", bounds.size()));
  }
  query::GroupedCount grouped;
  grouped.total_count = spans;
  uint64_t sum = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    const json& b = (*buckets)[i];
    uint64_t count = 0;
    double from = 0;
    if (!ReadCount(Member(b, "doc_count"), &count) ||
        (i > 0 && (!ReadNumber(Member(b, "from"), &from) || from != bounds[i]))) {
      return Malformed("a duration range without doc_count or out of order");
    }
    sum += count;
    if (count > 0) grouped.sub_buckets.push_back({query::RangeKey(bounds[i]), count});
  }
  if (sum != spans) return std::nullopt;
  return grouped;
}

}  // namespace

std::optional<json> StatisticsRequest(const query::StatisticsQuery& q) {
  if (!query::IsDurationKey(q.key)) return std::nullopt;
  const bool percentiles = std::any_of(q.wanted.begin(), q.wanted.end(),
                                       [](const query::Statistic& s) { return s.percentile > 0; });
  if (percentiles && !q.approximate) return std::nullopt;
  std::optional<json> filter = ExactQuery(q.range, q.filters);
  if (!filter) return std::nullopt;
  json aggs = {{"s", DurationStats()}};
  if (percentiles) aggs["b"] = DurationBuckets();
  return json{{"size", 0}, {"track_total_hits", true}, {"query", std::move(*filter)},
              {"aggs", std::move(aggs)}};
}

absl::StatusOr<std::optional<query::StatisticsResult>> ReadStatistics(
    const json& answer, const query::StatisticsQuery& q) {
  ASSIGN_OR_RETURN(Answer read, ReadAnswer(answer));
  if (read.spans == 0) return query::StatisticsResult();
  const uint64_t spans = read.spans;
  const json* aggs = read.aggregations;
  ASSIGN_OR_RETURN(const json* stats_agg, AggregationIn(*aggs, "s"));
  ASSIGN_OR_RETURN(Stats stats, ReadStats(*stats_agg));
  if (stats.count != spans) return std::nullopt;
  std::vector<double> percentiles;
  for (const query::Statistic& s : q.wanted) {
    if (s.percentile > 0) percentiles.push_back(s.percentile);
  }
  std::vector<double> ranked;
  if (!percentiles.empty()) {
    ASSIGN_OR_RETURN(const json* buckets_agg, AggregationIn(*aggs, "b"));
    ASSIGN_OR_RETURN(auto read, ReadPercentiles(*stats_agg, *buckets_agg, spans, percentiles));
    if (!read) return std::nullopt;
    ranked = std::move(*read);
  }
  return query::NamedStatistics(q.wanted, stats.count, stats.min, stats.max, stats.sum, ranked);
}

namespace {

// The number of time buckets of `q`, or 0 when it has none (a zero interval or an empty range).
uint64_t TimeBuckets(const query::HistogramQuery& q) {
  const uint64_t interval = q.interval_nano;
  if (interval == 0 || q.range.end_unix_nano < q.range.start_unix_nano) return 0;
  const uint64_t first = q.range.start_unix_nano - q.range.start_unix_nano % interval;
  const uint64_t last = q.range.end_unix_nano - q.range.end_unix_nano % interval;
  return (last - first) / interval + 1;
}

constexpr uint64_t kNanosPerMilli = 1000000;

// Whether the time buckets of `q` are the engine's `histogram` buckets over start_ms: an index of
// schema >= kStartMillisSchema and buckets of whole milliseconds. Buckets start at multiples of the
// interval since the epoch, so a span starting at t ns is in bucket floor(t / I) and, with
// I = i ms and t = m ms + r ns (r < 1 ms), floor(t / I) = floor(m / i): its start_ms bucket. The
// engine computes floor(m / i) * i in doubles, exact for m < 2^53.
bool BucketsOnStartMillis(const query::HistogramQuery& q, int schema) {
  return schema >= kStartMillisSchema && q.interval_nano % kNanosPerMilli == 0;
}

// The sub-aggregations of every time bucket of `q`, or nullopt when one is not pushed down.
std::optional<json> TimeBucketAggregations(const query::HistogramQuery& q) {
  json sub = json::object();
  for (size_t j = 0; j < q.aggregations.size(); ++j) {
    const query::Aggregation& agg = q.aggregations[j];
    if (agg.func == query::AggregationFunc::kCount) {
      if (!agg.group_by) continue;
      const char* field = KeywordFieldOf(*agg.group_by);
      if (field == nullptr) return std::nullopt;
      sub[fmt::format("g{}", j)] = {
          {"terms", {{"field", field}, {"size", GroupTerms(*agg.group_by)}}}};
    } else if (agg.func == query::AggregationFunc::kPercentiles && q.approximate &&
               !agg.group_by && agg.key && query::IsDurationKey(*agg.key)) {
      sub[fmt::format("p{}s", j)] = DurationStats();
      sub[fmt::format("p{}b", j)] = DurationBuckets();
    } else if (agg.func == query::AggregationFunc::kRangeCount && !agg.group_by && agg.key &&
               query::IsDurationKey(*agg.key) && !agg.bounds.empty()) {
      sub[fmt::format("r{}", j)] = DurationRanges(agg.bounds);
    } else {
      return std::nullopt;
    }
  }
  return sub;
}

}  // namespace

uint64_t TimeBucketsPerRequest(const query::HistogramQuery& q) {
  const uint64_t buckets = TimeBuckets(q);
  if (buckets == 0 || buckets > kMaxPushedDownBuckets || !TimeBucketAggregations(q) ||
      !ExactQuery(q.range, q.filters)) {
    return 0;
  }
  uint64_t per_time_bucket = 1;
  for (const query::Aggregation& agg : q.aggregations) {
    if (agg.func == query::AggregationFunc::kPercentiles) {
      per_time_bucket += query::DurationSketch::kMaxBuckets;
    } else if (agg.func == query::AggregationFunc::kRangeCount) {
      per_time_bucket += agg.bounds.size();
    } else if (agg.group_by) {
      per_time_bucket += GroupTerms(*agg.group_by);
    }
  }
  return std::max<uint64_t>(1, kMaxBucketsPerAnswer / per_time_bucket);
}

std::optional<json> HistogramsRequest(const query::HistogramQuery& q, int schema) {
  const uint64_t time_buckets = TimeBuckets(q);
  if (schema < kQueryFieldsSchema || time_buckets == 0 || time_buckets > kMaxPushedDownBuckets) {
    return std::nullopt;
  }
  std::optional<json> sub = TimeBucketAggregations(q);
  std::optional<json> filter = ExactQuery(q.range, q.filters);
  if (!sub || !filter) return std::nullopt;
  const uint64_t interval = q.interval_nano;
  json time;
  if (BucketsOnStartMillis(q, schema)) {
    // One pass over the start_ms doc values; empty buckets are left out.
    time = {{"histogram",
             {{"field", "start_ms"},
              {"interval", interval / kNanosPerMilli},
              {"min_doc_count", 1}}}};
  } else {
    // One exact range filter per bucket (the engine's histograms compute in doubles, which
    // cannot hold nanoseconds).
    json buckets = json::array();
    for (uint64_t i = 0, lo = q.range.start_unix_nano - q.range.start_unix_nano % interval;
         i < time_buckets; ++i, lo += interval) {
      const uint64_t hi = lo > UINT64_MAX - (interval - 1) ? UINT64_MAX : lo + (interval - 1);
      buckets.push_back({{"range", {{"start", {{"gte", Ordered(lo)}, {"lte", Ordered(hi)}}}}}});
    }
    time = {{"filters", {{"filters", std::move(buckets)}}}};
  }
  if (!sub->empty()) time["aggs"] = std::move(*sub);
  return json{{"size", 0}, {"track_total_hits", true}, {"query", std::move(*filter)},
              {"aggs", {{"t", std::move(time)}}}};
}

namespace {

// A time bucket of an answer: its index from the range's first bucket, its spans, its
// sub-aggregations.
struct TimeBucket {
  uint64_t index = 0;
  uint64_t spans = 0;
  const json* body = nullptr;
};

// The non-empty time buckets of an answer to HistogramsRequest, in order; nullopt when they do not
// hold every span of the range (documents without start_ms).
absl::StatusOr<std::optional<std::vector<TimeBucket>>> ReadTimeBuckets(
    const json& time, const query::HistogramQuery& q, int schema, uint64_t spans_in_range) {
  const uint64_t interval = q.interval_nano;
  const uint64_t first = q.range.start_unix_nano - q.range.start_unix_nano % interval;
  const uint64_t expected = TimeBuckets(q);
  const bool on_millis = BucketsOnStartMillis(q, schema);
  const json* buckets = Member(time, "buckets");
  if (buckets == nullptr || !buckets->is_array() || (!on_millis && buckets->size() != expected)) {
    return Malformed(fmt::format("not {} time buckets", expected));
  }
  std::vector<TimeBucket> out;
  uint64_t in_buckets = 0;
  std::optional<uint64_t> previous;
  for (size_t i = 0; i < buckets->size(); ++i) {
    const json& bucket = (*buckets)[i];
    uint64_t spans = 0;
    if (!ReadCount(Member(bucket, "doc_count"), &spans)) {
      return Malformed("a time bucket without doc_count");
    }
    uint64_t index = i;
    if (on_millis) {
      // A key in ms: a whole number below 2^53 (as the engine's doubles hold it exactly), a
      // multiple of the interval inside the range's buckets, after the previous one.
      double key = 0;
      const uint64_t interval_ms = interval / kNanosPerMilli;
      if (!ReadNumber(Member(bucket, "key"), &key) || !(key >= 0) || key >= 9007199254740992.0 ||
          std::floor(key) != key) {
        return Malformed("a time bucket whose key is not a whole number of milliseconds");
      }
      const auto key_ms = static_cast<uint64_t>(key);
      if (key_ms % interval_ms != 0 || key_ms / interval_ms < first / interval ||
          key_ms / interval_ms - first / interval >= expected ||
          (previous && key_ms / interval_ms - first / interval <= *previous)) {
        return Malformed("a time bucket outside the range or out of order");
      }
      index = key_ms / interval_ms - first / interval;
      previous = index;
    }
    in_buckets += spans;
    if (spans > 0) out.push_back(TimeBucket{index, spans, &bucket});  // empty buckets are omitted
  }
  // The time buckets partition the range, so they hold every span of it; on start_ms, documents
  // without the field (an index not wholly of the schema) fall in none.
  if (in_buckets != spans_in_range) {
    if (on_millis) return std::nullopt;
    return Malformed("time buckets that do not add up to the hits");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::optional<query::HistogramResult>> ReadHistograms(
    const json& answer, const query::HistogramQuery& q, int schema) {
  const uint64_t interval = q.interval_nano;
  const uint64_t first = q.range.start_unix_nano - q.range.start_unix_nano % interval;
  query::HistogramResult result(q.aggregations.size());
  for (size_t j = 0; j < q.aggregations.size(); ++j) result[j].label = q.aggregations[j].label;
  ASSIGN_OR_RETURN(Answer read, ReadAnswer(answer));
  if (read.spans == 0) return result;
  ASSIGN_OR_RETURN(const json* time, AggregationIn(*read.aggregations, "t"));
  ASSIGN_OR_RETURN(auto buckets, ReadTimeBuckets(*time, q, schema, read.spans));
  if (!buckets) return std::nullopt;
  for (const TimeBucket& time_bucket : *buckets) {
    const json& bucket = *time_bucket.body;
    const uint64_t spans = time_bucket.spans;
    const uint64_t key = first + time_bucket.index * interval;
    for (size_t j = 0; j < q.aggregations.size(); ++j) {
      const query::Aggregation& agg = q.aggregations[j];
      query::BucketData data = spans;
      if (agg.func == query::AggregationFunc::kPercentiles) {
        ASSIGN_OR_RETURN(const json* stats_agg, AggregationIn(bucket, fmt::format("p{}s", j)));
        ASSIGN_OR_RETURN(const json* buckets_agg, AggregationIn(bucket, fmt::format("p{}b", j)));
        ASSIGN_OR_RETURN(auto ranked,
                         ReadPercentiles(*stats_agg, *buckets_agg, spans, agg.percentiles));
        if (!ranked) return std::nullopt;
        std::map<std::string, double> labelled;
        for (size_t p = 0; p < agg.percentiles.size(); ++p) {
          labelled[query::PercentileLabel(agg.percentiles[p])] = (*ranked)[p];
        }
        data = std::move(labelled);
      } else if (agg.func == query::AggregationFunc::kRangeCount) {
        ASSIGN_OR_RETURN(const json* ranges, AggregationIn(bucket, fmt::format("r{}", j)));
        ASSIGN_OR_RETURN(auto grouped, ReadRanges(*ranges, agg.bounds, spans));
        if (!grouped) return std::nullopt;
        data = std::move(*grouped);
      } else if (agg.group_by) {
        ASSIGN_OR_RETURN(const json* terms, AggregationIn(bucket, fmt::format("g{}", j)));
        ASSIGN_OR_RETURN(auto counts, ReadKeywordCounts(*terms, spans, *agg.group_by));
        if (!counts) return std::nullopt;
        std::sort(counts->begin(), counts->end());  // key order, which ties keep
        query::GroupedCount grouped;
        grouped.total_count = spans;
        grouped.sub_buckets.resize(counts->size());
        for (size_t g = 0; g < counts->size(); ++g) {
          grouped.sub_buckets[g].key.emplace<std::string>(std::move((*counts)[g].first));
          grouped.sub_buckets[g].count = (*counts)[g].second;
        }
        query::KeepLargestGroups(grouped.sub_buckets, agg.max_groups);
        data = std::move(grouped);
      }
      result[j].buckets.push_back(query::HistogramBucket{key, std::move(data)});
    }
  }
  return result;
}

namespace {

// The grouped percentiles aggregation of `q` when it has the shape GroupCountsRequest pushes down.
const query::Aggregation* GroupedDurationPercentiles(const query::HistogramQuery& q) {
  if (!q.approximate || q.aggregations.size() != 1 || TimeBuckets(q) != 1) return nullptr;
  const query::Aggregation& agg = q.aggregations[0];
  if (agg.func != query::AggregationFunc::kPercentiles || !agg.group_by || !agg.key ||
      !query::IsDurationKey(*agg.key) || KeywordFieldOf(*agg.group_by) == nullptr) {
    return nullptr;
  }
  return &agg;
}

}  // namespace

std::optional<json> GroupCountsRequest(const query::HistogramQuery& q) {
  const query::Aggregation* agg = GroupedDurationPercentiles(q);
  if (agg == nullptr) return std::nullopt;
  std::optional<json> filter = ExactQuery(q.range, q.filters);
  if (!filter) return std::nullopt;
  return json{{"size", 0},
              {"track_total_hits", true},
              {"query", std::move(*filter)},
              {"aggs",
               {{"g",
                 {{"terms",
                   {{"field", KeywordFieldOf(*agg->group_by)},
                    {"size", GroupTerms(*agg->group_by)}}}}}}}};
}

absl::StatusOr<std::optional<query::GroupedPercentiles>> ReadGroupCounts(
    const json& answer, const query::HistogramQuery& q) {
  const query::Aggregation& agg = q.aggregations.at(0);
  ASSIGN_OR_RETURN(Answer read, ReadAnswer(answer));
  query::GroupedPercentiles out;
  out.total_count = read.spans;
  if (read.spans == 0) return out;
  ASSIGN_OR_RETURN(const json* terms, AggregationIn(*read.aggregations, "g"));
  ASSIGN_OR_RETURN(auto counts, ReadKeywordCounts(*terms, read.spans, *agg.group_by));
  if (!counts) return std::nullopt;
  std::sort(counts->begin(), counts->end());  // key order, which ties keep
  for (auto& [key, count] : *counts) {
    query::GroupPercentiles& g = out.groups.emplace_back();
    g.key.emplace<std::string>(std::move(key));
    g.count = count;
  }
  query::KeepLargestGroups(out.groups, agg.max_groups);
  return out;
}

json GroupPercentilesRequest(const query::HistogramQuery& q,
                             const std::vector<query::GroupPercentiles>& groups) {
  const query::Aggregation& agg = q.aggregations.at(0);
  const char* field = KeywordFieldOf(*agg.group_by);
  json keys = json::array();
  for (const query::GroupPercentiles& g : groups) keys.push_back(std::get<std::string>(g.key));
  json filter = ExactQuery(q.range, q.filters).value_or(json::object());
  filter["bool"]["filter"].push_back({{"terms", {{field, keys}}}});
  return json{{"size", 0},
              {"track_total_hits", true},
              {"query", std::move(filter)},
              {"aggs",
               {{"g",
                 {{"terms", {{"field", field}, {"size", groups.size()}}},
                  {"aggs", {{"s", DurationStats()}, {"b", DurationBuckets()}}}}}}}};
}

absl::StatusOr<bool> ReadGroupPercentiles(const json& answer, const query::HistogramQuery& q,
                                          std::vector<query::GroupPercentiles>& groups) {
  const query::Aggregation& agg = q.aggregations.at(0);
  ASSIGN_OR_RETURN(Answer read, ReadAnswer(answer));
  if (read.spans == 0) return false;  // the groups' spans are gone (retention)
  ASSIGN_OR_RETURN(const json* terms, AggregationIn(*read.aggregations, "g"));
  ASSIGN_OR_RETURN(auto read_terms, ReadTerms(*terms));
  if (!read_terms || read_terms->size() != groups.size()) return false;
  for (const KeywordTerm& term : *read_terms) {
    auto g = std::find_if(groups.begin(), groups.end(), [&](const query::GroupPercentiles& g) {
      return std::get<std::string>(g.key) == *term.key;
    });
    if (g == groups.end() || !g->percentiles.empty()) {
      return Malformed("a group that was not asked for, or twice");
    }
    ASSIGN_OR_RETURN(const json* stats_agg, AggregationIn(*term.bucket, "s"));
    ASSIGN_OR_RETURN(const json* buckets_agg, AggregationIn(*term.bucket, "b"));
    ASSIGN_OR_RETURN(auto ranked,
                     ReadPercentiles(*stats_agg, *buckets_agg, term.count, agg.percentiles));
    if (!ranked) return false;
    g->count = term.count;
    for (size_t p = 0; p < agg.percentiles.size(); ++p) {
      g->percentiles[query::PercentileLabel(agg.percentiles[p])] = (*ranked)[p];
    }
  }
  return true;
}

std::optional<json> TagValuesRequest(const query::TagValuesQuery& q) {
  json terms;
  if (const char* field = KeywordFieldOf(q.key)) {
    terms = {{"field", field}, {"size", kTagValueTerms}};
  } else if (IsFacetKey(q.key)) {
    terms = {{"field", "facet_values"}, {"include", FacetTermsPattern(q.key)},
             {"size", kTagValueTerms}};
  } else {
    return std::nullopt;
  }
  std::optional<json> filter = ExactQuery(q.range, q.filters);
  if (!filter) return std::nullopt;
  return json{{"size", 0},
              {"track_total_hits", true},
              {"query", std::move(*filter)},
              {"aggs", {{"v", {{"terms", std::move(terms)}}}}}};
}

int TagValuesSchema(const query::TagValuesQuery& q) {
  return IsFacetKey(q.key) ? kFacetValuesSchema : kQueryFieldsSchema;
}

absl::StatusOr<std::optional<query::TagValuesResult>> ReadTagValues(
    const json& answer, const query::TagValuesQuery& q) {
  ASSIGN_OR_RETURN(Answer read, ReadAnswer(answer));
  if (read.spans == 0) return query::TagValuesResult();
  ASSIGN_OR_RETURN(const json* terms, AggregationIn(*read.aggregations, "v"));
  // The collector orders and cuts the values as every backend's answer is ordered and cut.
  query::TagValuesCollector collector(q);
  if (!IsFacetKey(q.key)) {
    ASSIGN_OR_RETURN(auto counts, ReadKeywordCounts(*terms, read.spans, q.key));
    if (!counts) return std::nullopt;
    for (auto& [value, count] : *counts) collector.AddCounted(query::TagValue(value), count);
    return std::move(collector).Finish();
  }
  // Facet terms: spans without the attribute have none, so the counts need not add up to the
  // spans. Values the collector takes for one (0.0 and -0.0, NaNs) would report whichever came
  // first: scanned instead.
  ASSIGN_OR_RETURN(auto facet_terms, ReadTerms(*terms));
  if (!facet_terms) return std::nullopt;
  std::vector<std::pair<query::TagValue, uint64_t>> values;
  for (const KeywordTerm& term : *facet_terms) {
    ASSIGN_OR_RETURN(std::optional<query::TagValue> value, ReadFacetTerm(q.key, *term.key));
    if (!value) return std::nullopt;
    values.emplace_back(std::move(*value), term.count);
  }
  std::sort(values.begin(), values.end(), [](const auto& a, const auto& b) {
    return query::CompareTagValues(a.first, b.first) < 0;
  });
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0 && query::CompareTagValues(values[i - 1].first, values[i].first) == 0) {
      return std::nullopt;
    }
    collector.AddCounted(values[i].first, values[i].second);
  }
  return std::move(collector).Finish();
}

}  // namespace teletrace::storage::elasticsearch
