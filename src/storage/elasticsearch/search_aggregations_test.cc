// The push-down requests and the readers of their answers, without a node (the node tests in
// search_backend_test.cc compare pushed-down answers with the scan engine's).
#include "storage/elasticsearch/search_aggregations.h"

#include "gtest/gtest.h"
#include "query/duration_sketch.h"
#include "storage/elasticsearch/search_query.h"

namespace teletrace::storage::elasticsearch {
namespace {

using json = nlohmann::json;

query::Key Intrinsic(query::Intrinsic intrinsic) {
  query::Key k;
  k.intrinsic = intrinsic;
  k.text = "k";
  return k;
}

query::Filter IntrinsicFilter(query::Intrinsic intrinsic, query::Operator op,
                              query::Scalar value) {
  query::Filter f;
  f.key = Intrinsic(intrinsic);
  f.op = op;
  f.value = std::move(value);
  return f;
}

query::StatisticsQuery DurationStatistics() {
  query::StatisticsQuery q;
  q.key = Intrinsic(query::Intrinsic::kDuration);
  q.range = {100, 200};
  q.wanted = {{"count", 0}, {"min", 0}, {"max", 0}, {"avg", 0}, {"sum", 0}};
  return q;
}

TEST(SearchAggregationsTest, StatisticsArePushedDownOnlyWhenTheEngineAnswersExactly) {
  query::StatisticsQuery q = DurationStatistics();
  q.filters = {IntrinsicFilter(query::Intrinsic::kStatusCode, query::Operator::kNotEquals,
                               std::string("Error"))};
  std::optional<json> request = StatisticsRequest(q);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(*request, json::parse(R"({"size": 0, "track_total_hits": true,
      "query": {"bool": {"filter": [
        {"range": {"start": {"gte": -9223372036854775708, "lte": -9223372036854775608}}},
        {"bool": {"must_not": [{"terms": {"status": ["Error"]}}]}}]}},
      "aggs": {"s": {"stats": {"field": "dur"}}}})"));

  query::StatisticsQuery attribute = DurationStatistics();
  attribute.key.level = query::KeyLevel::kSpan;
  attribute.key.name = "retries";
  EXPECT_FALSE(StatisticsRequest(attribute).has_value());
  query::StatisticsQuery exact_percentile = DurationStatistics();
  exact_percentile.wanted.push_back({"p99", 99});
  EXPECT_FALSE(StatisticsRequest(exact_percentile).has_value());
  exact_percentile.approximate = true;
  ASSERT_TRUE(StatisticsRequest(exact_percentile).has_value());
  EXPECT_TRUE((*StatisticsRequest(exact_percentile))["aggs"].contains("b"));
  query::StatisticsQuery contains = DurationStatistics();
  contains.filters = {
      IntrinsicFilter(query::Intrinsic::kName, query::Operator::kContains, std::string("GET"))};
  EXPECT_FALSE(StatisticsRequest(contains).has_value());
  EXPECT_FALSE(
      ExactClause(IntrinsicFilter(query::Intrinsic::kDuration, query::Operator::kGt, 2.5))
          .has_value());
}

TEST(SearchAggregationsTest, StatisticsAnswersAreReadOrRefused) {
  const query::StatisticsQuery q = DurationStatistics();
  absl::StatusOr<std::optional<query::StatisticsResult>> read = ReadStatistics(
      json::parse(R"({"hits": {"total": {"value": 4, "relation": "eq"}},
                      "aggregations": {"s": {"count": 4, "min": 10.0, "max": 40.0,
                                              "sum": 100.0, "avg": 25.0}}})"),
      q);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, (query::StatisticsResult{
                        {"count", 4}, {"min", 10}, {"max", 40}, {"avg", 25}, {"sum", 100}}));
  // Spans without the duration field (an older index): not exact, so scanned.
  read = ReadStatistics(json::parse(R"({"hits": {"total": {"value": 5, "relation": "eq"}},
      "aggregations": {"s": {"count": 4, "min": 1, "max": 2, "sum": 3}}})"),
                        q);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
  EXPECT_EQ(ReadStatistics(json::parse(R"({"hits": {"total": {"value": 5, "relation": "gte"}}})"),
                           q)
                .status(),
            absl::InternalError(
                "elasticsearch: malformed aggregation answer: no exact hits.total"));
  EXPECT_EQ(ReadStatistics(json::parse(R"({"hits": {"total": {"value": 1, "relation": "eq"}},
      "aggregations": {"s": {"count": 1, "min": "x"}}})"),
                           q)
                .status(),
            absl::InternalError(
                "elasticsearch: malformed aggregation answer: stats without min, max or sum"));
}

TEST(SearchAggregationsTest, ApproximatePercentilesComeFromTheDurationBuckets) {
  query::StatisticsQuery q = DurationStatistics();
  q.wanted = {{"p50", 50}, {"p100", 100}};
  q.approximate = true;
  const uint32_t b1000 = query::DurationSketch::BucketOf(1000);
  const uint32_t b5000 = query::DurationSketch::BucketOf(5000);
  json answer = {
      {"hits", {{"total", {{"value", 3}, {"relation", "eq"}}}}},
      {"aggregations",
       {{"s", {{"count", 3}, {"min", 1000.0}, {"max", 5000.0}, {"sum", 7000.0}}},
        {"b",
         {{"buckets", json::array({{{"key", static_cast<double>(b1000)}, {"doc_count", 2}},
                                   {{"key", static_cast<double>(b5000)}, {"doc_count", 1}}})}}}}}};
  absl::StatusOr<std::optional<query::StatisticsResult>> read = ReadStatistics(answer, q);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_NEAR((**read).at("p50"), 1000, 10);
  EXPECT_EQ((**read).at("p100"), 5000);  // the last rank is the exact maximum
  for (const json& key : {json(99999.0), json(0.5), json(-1.0), json("1")}) {
    json wrong = answer;
    wrong["aggregations"]["b"]["buckets"][0]["key"] = key;
    EXPECT_EQ(ReadStatistics(wrong, q).status(),
              absl::InternalError("elasticsearch: malformed aggregation answer: a duration bucket "
                                  "that is not a bucket index"))
        << key;
  }
  answer["aggregations"]["b"]["buckets"][0]["doc_count"] = 1;  // a document without dur_bucket
  read = ReadStatistics(answer, q);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
}

TEST(SearchAggregationsTest, HistogramsReadOneFilterBucketPerTimeBucket) {
  query::HistogramQuery q;
  q.range = {1050, 1299};
  q.interval_nano = 100;
  query::Aggregation count;
  count.label = "count";
  query::Aggregation by_status;
  by_status.label = "by status";
  by_status.group_by = Intrinsic(query::Intrinsic::kStatusCode);
  by_status.max_groups = 1;
  q.aggregations = {count, by_status};
  std::optional<json> request = HistogramsRequest(q, kQueryFieldsSchema);
  ASSERT_TRUE(request.has_value());
  const json& filters = (*request)["aggs"]["t"]["filters"]["filters"];
  ASSERT_EQ(filters.size(), 3u);  // [1000, 1099], [1100, 1199], [1200, 1299]
  EXPECT_EQ(filters[1], json::parse(R"({"range": {"start": {"gte": -9223372036854774708,
                                                            "lte": -9223372036854774609}}})"));
  json status_terms = {{"sum_other_doc_count", 0},
                       {"buckets", json::array({{{"key", "Ok"}, {"doc_count", 2}},
                                                {{"key", "Error"}, {"doc_count", 2}}})}};
  json answer = {{"hits", {{"total", {{"value", 8}, {"relation", "eq"}}}}},
                 {"aggregations",
                  {{"t",
                    {{"buckets", json::array({{{"doc_count", 4}, {"g1", status_terms}},
                                              {{"doc_count", 0}},
                                              {{"doc_count", 4}, {"g1", status_terms}}})}}}}}};
  absl::StatusOr<std::optional<query::HistogramResult>> read =
      ReadHistograms(answer, q, kQueryFieldsSchema);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  const query::HistogramResult& result = **read;
  ASSERT_EQ(result.size(), 2u);
  ASSERT_EQ(result[0].buckets.size(), 2u);  // the empty one omitted
  EXPECT_EQ(result[0].buckets[1], (query::HistogramBucket{1200, uint64_t{4}}));
  const auto& grouped = std::get<query::GroupedCount>(result[1].buckets[0].data);
  EXPECT_EQ(grouped.total_count, 4u);
  ASSERT_EQ(grouped.sub_buckets.size(), 1u);
  EXPECT_EQ(grouped.sub_buckets[0].key, query::TagValue(std::string("Error")));  // ties: key order
  // Group counts that do not add up to the bucket's spans: documents without the field.
  answer["hits"]["total"]["value"] = 9;
  answer["aggregations"]["t"]["buckets"][0]["doc_count"] = 5;
  read = ReadHistograms(answer, q, kQueryFieldsSchema);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
  answer["aggregations"]["t"]["buckets"][0]["doc_count"] = 4;
  answer["hits"]["total"]["value"] = 10;
  EXPECT_EQ(ReadHistograms(answer, q, kQueryFieldsSchema).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: time buckets that "
                                "do not add up to the hits"));
  answer["aggregations"]["t"]["buckets"].erase(1);
  EXPECT_EQ(ReadHistograms(answer, q, kQueryFieldsSchema).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: not 3 time buckets"));
  query::HistogramQuery distinct = q;
  distinct.aggregations[0].func = query::AggregationFunc::kDistinctCount;
  EXPECT_FALSE(HistogramsRequest(distinct, kStartMillisSchema).has_value());
  query::HistogramQuery fine = q;
  fine.interval_nano = 1;
  fine.range = {0, kMaxPushedDownBuckets};
  EXPECT_FALSE(HistogramsRequest(fine, kQueryFieldsSchema).has_value());
  fine.range.end_unix_nano = kMaxPushedDownBuckets - 1;
  EXPECT_TRUE(HistogramsRequest(fine, kQueryFieldsSchema).has_value());
}

// Buckets of whole milliseconds on indices with start_ms: one `histogram` aggregation, whose keys
// (milliseconds, as doubles) name the buckets.
TEST(SearchAggregationsTest, HistogramsOfWholeMillisecondsBucketTheStartMilliseconds) {
  query::HistogramQuery q;
  q.range = {60000000000 + 1, 240000000000 - 1};  // [60 s + 1 ns, 240 s - 1 ns]: 3 minutes
  q.interval_nano = 60000000000;
  query::Aggregation count;
  count.label = "count";
  q.aggregations = {count};
  std::optional<json> request = HistogramsRequest(q, kStartMillisSchema);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ((*request)["aggs"]["t"], json::parse(R"({"histogram": {"field": "start_ms",
      "interval": 60000, "min_doc_count": 1}})"));
  EXPECT_EQ((*request)["query"]["bool"]["filter"][0]["range"]["start"]["gte"],
            Ordered(60000000001));  // the range itself stays exact in nanoseconds
  // An index of schema 2 (no start_ms), or buckets that are not whole milliseconds: filters.
  ASSERT_TRUE(HistogramsRequest(q, kQueryFieldsSchema).has_value());
  EXPECT_EQ(HistogramsRequest(q, kQueryFieldsSchema)->at("aggs")["t"]["filters"]["filters"].size(),
            3u);
  query::HistogramQuery odd = q;
  odd.interval_nano = 60000000001;
  ASSERT_TRUE(HistogramsRequest(odd, kStartMillisSchema).has_value());
  EXPECT_TRUE(HistogramsRequest(odd, kStartMillisSchema)->at("aggs")["t"].contains("filters"));
  EXPECT_FALSE(HistogramsRequest(q, 1).has_value());  // no query fields at all

  json answer = json::parse(R"({"hits": {"total": {"value": 7, "relation": "eq"}},
      "aggregations": {"t": {"buckets": [{"key": 60000.0, "doc_count": 3},
                                         {"key": 1.8E5, "doc_count": 4}]}}})");
  absl::StatusOr<std::optional<query::HistogramResult>> read =
      ReadHistograms(answer, q, kStartMillisSchema);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, (query::HistogramResult{
                        {"count",
                         {query::HistogramBucket{60000000000, uint64_t{3}},
                          query::HistogramBucket{180000000000, uint64_t{4}}}}}));
  // Buckets holding fewer spans than the range: documents without start_ms, scanned instead.
  answer["hits"]["total"]["value"] = 8;
  read = ReadHistograms(answer, q, kStartMillisSchema);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
  answer["hits"]["total"]["value"] = 7;
  const std::string bad_key =
      "elasticsearch: malformed aggregation answer: a time bucket whose key is not a whole number "
      "of milliseconds";
  const std::string outside =
      "elasticsearch: malformed aggregation answer: a time bucket outside the range or out of "
      "order";
  for (const auto& [key, error] : std::vector<std::pair<json, std::string>>{
           {json(60000.5), bad_key},
           {json(-60000.0), bad_key},
           {json("60000"), bad_key},
           {json(1e300), bad_key},
           {json(60001.0), outside},        // not a multiple of the interval
           {json(0.0), outside},            // before the range's first bucket
           {json(240000.0), outside},       // after its last
           {json(180000.0), outside}}) {    // not after the previous bucket
    json wrong = answer;
    wrong["aggregations"]["t"]["buckets"][0]["key"] = key;
    EXPECT_EQ(ReadHistograms(wrong, q, kStartMillisSchema).status(), absl::InternalError(error))
        << key;
  }
}

// RANGE_COUNT of the duration: one `range` aggregation per time bucket, ranges read by position.
TEST(SearchAggregationsTest, DurationRangesAreTheEnginesRanges) {
  query::HistogramQuery q;
  q.range = {0, 59999};
  q.interval_nano = 60000;
  query::Aggregation heat;
  heat.label = "heat";
  heat.func = query::AggregationFunc::kRangeCount;
  heat.key = Intrinsic(query::Intrinsic::kDuration);
  heat.bounds = {0, 1000, 2500.5};
  q.aggregations = {heat};
  std::optional<json> request = HistogramsRequest(q, kStartMillisSchema);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ((*request)["aggs"]["t"]["aggs"]["r0"], json::parse(R"({"range": {"field": "dur",
      "ranges": [{"to": 1000.0}, {"from": 1000.0, "to": 2500.5}, {"from": 2500.5}]}})"));
  EXPECT_EQ(TimeBucketsPerRequest(q), kMaxBucketsPerAnswer / 4);
  json answer = json::parse(R"({"hits": {"total": {"value": 5, "relation": "eq"}},
      "aggregations": {"t": {"buckets": [{"doc_count": 5, "r0": {"buckets": [
        {"key": "*-1000.0", "to": 1000.0, "doc_count": 3},
        {"key": "1000.0-2500.5", "from": 1000.0, "to": 2500.5, "doc_count": 0},
        {"key": "2500.5-*", "from": 2500.5, "doc_count": 2}]}}]}}})");
  absl::StatusOr<std::optional<query::HistogramResult>> read =
      ReadHistograms(answer, q, kQueryFieldsSchema);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  // The non-empty ranges, keyed by their lower bound (an integer where the bound is one).
  query::GroupedCount want;
  want.total_count = 5;
  want.sub_buckets = {{query::TagValue(int64_t{0}), 3}, {query::TagValue(2500.5), 2}};
  EXPECT_EQ(**read, (query::HistogramResult{{"heat", {query::HistogramBucket{0, want}}}}));
  // Ranges holding fewer spans than the bucket: documents without `dur`, scanned.
  json short_of_spans = answer;
  short_of_spans["aggregations"]["t"]["buckets"][0]["r0"]["buckets"][2]["doc_count"] = 1;
  read = ReadHistograms(short_of_spans, q, kQueryFieldsSchema);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->has_value());
  json reordered = answer;
  reordered["aggregations"]["t"]["buckets"][0]["r0"]["buckets"][1]["from"] = 2500.5;
  EXPECT_EQ(ReadHistograms(reordered, q, kQueryFieldsSchema).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: a duration range "
                                "without doc_count or out of order"));
  json missing = answer;
  missing["aggregations"]["t"]["buckets"][0]["r0"]["buckets"].erase(1);
  EXPECT_EQ(ReadHistograms(missing, q, kQueryFieldsSchema).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: not 3 duration "
                                "ranges"));
  // Ranges of an attribute are scanned.
  q.aggregations[0].key->intrinsic = query::Intrinsic::kName;
  EXPECT_FALSE(HistogramsRequest(q, kStartMillisSchema).has_value());
}

// Grouped duration percentiles over one time bucket: the groups' counts, then the kept groups'
// duration buckets.
TEST(SearchAggregationsTest, GroupedPercentilesAreAskedInTwoSteps) {
  query::HistogramQuery q;
  q.range = {0, 999};
  q.interval_nano = uint64_t{1} << 63;  // one bucket: the services page's request
  q.approximate = true;
  query::Aggregation latency;
  latency.label = "latency";
  latency.func = query::AggregationFunc::kPercentiles;
  latency.key = Intrinsic(query::Intrinsic::kDuration);
  latency.group_by = Intrinsic(query::Intrinsic::kName);
  latency.max_groups = 2;
  latency.percentiles = {50, 100};
  q.aggregations = {latency};
  std::optional<json> counts = GroupCountsRequest(q);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ((*counts)["aggs"], json::parse(R"({"g": {"terms": {"field": "name", "size": 500}}})"));
  json answer = json::parse(R"({"hits": {"total": {"value": 9, "relation": "eq"}},
      "aggregations": {"g": {"sum_other_doc_count": 0, "buckets": [
        {"key": "c", "doc_count": 4}, {"key": "b", "doc_count": 2}, {"key": "a", "doc_count": 2},
        {"key": "d", "doc_count": 1}]}}})");
  absl::StatusOr<std::optional<query::GroupedPercentiles>> grouped = ReadGroupCounts(answer, q);
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  ASSERT_TRUE(grouped->has_value());
  EXPECT_EQ((*grouped)->total_count, 9u);
  ASSERT_EQ((*grouped)->groups.size(), 2u);  // the two largest, ties by key
  EXPECT_EQ((*grouped)->groups[0].key, query::TagValue(std::string("c")));
  EXPECT_EQ((*grouped)->groups[1].key, query::TagValue(std::string("a")));

  std::vector<query::GroupPercentiles> groups = (*grouped)->groups;
  const json request = GroupPercentilesRequest(q, groups);
  EXPECT_EQ(request["query"]["bool"]["filter"].back(),
            json::parse(R"({"terms": {"name": ["c", "a"]}})"));
  EXPECT_EQ(request["aggs"]["g"]["terms"]["size"], 2);
  const double b1000 = query::DurationSketch::BucketOf(1000);
  const double b5000 = query::DurationSketch::BucketOf(5000);
  auto group = [&](const char* key, uint64_t count, double max, uint64_t at_max) {
    return json{{"key", key},
                {"doc_count", count},
                {"s", {{"count", count}, {"min", 1000.0}, {"max", max}, {"sum", 1.0}}},
                {"b",
                 {{"buckets", json::array({{{"key", b1000}, {"doc_count", count - at_max}},
                                           {{"key", b5000}, {"doc_count", at_max}}})}}}};
  };
  json percentiles = {{"hits", {{"total", {{"value", 7}, {"relation", "eq"}}}}},
                      {"aggregations",
                       {{"g",
                         {{"sum_other_doc_count", 0},
                          {"buckets", json::array({group("c", 5, 5000, 2),
                                                   group("a", 2, 5000, 1)})}}}}}};
  absl::StatusOr<bool> read = ReadGroupPercentiles(percentiles, q, groups);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read);
  EXPECT_EQ(groups[0].count, 5u);  // the second answer's count (one span more since)
  EXPECT_NEAR(groups[0].percentiles.at("50.0"), 1000, 10);
  EXPECT_EQ(groups[0].percentiles.at("100.0"), 5000);  // the last rank: the exact maximum
  EXPECT_EQ(groups[1].percentiles.at("100.0"), 5000);

  // A group missing from the second answer (its spans gone): scanned. One not asked: malformed.
  std::vector<query::GroupPercentiles> again = (*grouped)->groups;
  json missing = percentiles;
  missing["aggregations"]["g"]["buckets"].erase(1);
  read = ReadGroupPercentiles(missing, q, again);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(*read);
  json stranger = percentiles;
  stranger["aggregations"]["g"]["buckets"][1]["key"] = "z";
  EXPECT_EQ(ReadGroupPercentiles(stranger, q, again).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: a group that was "
                                "not asked for, or twice"));

  // Not this shape: exact percentiles, several time buckets, groups of an attribute.
  query::HistogramQuery exact = q;
  exact.approximate = false;
  EXPECT_FALSE(GroupCountsRequest(exact).has_value());
  query::HistogramQuery per_bucket = q;
  per_bucket.interval_nano = 100;
  EXPECT_FALSE(GroupCountsRequest(per_bucket).has_value());
  query::HistogramQuery by_attribute = q;
  by_attribute.aggregations[0].group_by->level = query::KeyLevel::kSpan;
  by_attribute.aggregations[0].group_by->name = "http.route";
  EXPECT_FALSE(GroupCountsRequest(by_attribute).has_value());
}

TEST(SearchAggregationsTest, TagValuesOfTheStatusAreCountedByTheEngine) {
  query::TagValuesQuery q;
  q.key = Intrinsic(query::Intrinsic::kStatusCode);
  q.limit = 2;
  ASSERT_TRUE(TagValuesRequest(q).has_value());
  json answer = json::parse(R"({"hits": {"total": {"value": 6, "relation": "eq"}},
      "aggregations": {"v": {"sum_other_doc_count": 0, "buckets": [
        {"key": "Unset", "doc_count": 1}, {"key": "Ok", "doc_count": 3},
        {"key": "Error", "doc_count": 2}]}}})");
  absl::StatusOr<std::optional<query::TagValuesResult>> read = ReadTagValues(answer, q);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((**read).total_distinct, 3u);
  EXPECT_EQ((**read).values, (std::vector<query::TagValueCount>{{std::string("Ok"), 3},
                                                                {std::string("Error"), 2}}));
  answer["aggregations"]["v"]["buckets"][0]["key"] = 7;
  EXPECT_EQ(ReadTagValues(answer, q).status(),
            absl::InternalError("elasticsearch: malformed aggregation answer: a keyword term "
                                "that is not a string"));
  query::TagValuesQuery ids = q;
  ids.key = Intrinsic(query::Intrinsic::kTraceId);
  EXPECT_FALSE(TagValuesRequest(ids).has_value());
  // "" is a span name like any other, but as a service it also stands for "no string
  // service.name": scanned.
  answer["aggregations"]["v"]["buckets"][0]["key"] = "";
  query::TagValuesQuery names = q;
  names.key = Intrinsic(query::Intrinsic::kName);
  ASSERT_TRUE(TagValuesRequest(names).has_value());
  read = ReadTagValues(answer, names);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((**read).total_distinct, 3u);
  query::TagValuesQuery services = q;
  services.key.level = query::KeyLevel::kResource;
  services.key.name = "service.name";
  read = ReadTagValues(answer, services);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->has_value());
}

TEST(SearchAggregationsTest, TagValuesOfAFacetKeyAreItsFacetTerms) {
  query::TagValuesQuery q;
  q.key.level = query::KeyLevel::kSpan;
  q.key.name = "http.status_code";
  q.limit = 2;
  std::optional<json> request = TagValuesRequest(q);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ((*request)["aggs"]["v"]["terms"], json::parse(R"({"field": "facet_values",
      "include": "http\\.status\\_code=.*", "size": 10000})"));
  EXPECT_EQ(TagValuesSchema(q), kFacetValuesSchema);
  // Spans without the attribute have no term: the counts need not add up to the hits.
  json answer = json::parse(R"({"hits": {"total": {"value": 10, "relation": "eq"}},
      "aggregations": {"v": {"sum_other_doc_count": 0, "buckets": [
        {"key": "http.status_code=i200", "doc_count": 5},
        {"key": "http.status_code=i500", "doc_count": 2},
        {"key": "http.status_code=d404.5", "doc_count": 2}]}}})");
  absl::StatusOr<std::optional<query::TagValuesResult>> read = ReadTagValues(answer, q);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((**read).total_distinct, 3u);
  EXPECT_EQ((**read).values, (std::vector<query::TagValueCount>{{int64_t{200}, 5},
                                                                {404.5, 2}}));  // ties: by value
  // 0.0 and -0.0 are one value to the collector (whichever came first): scanned.
  json equal = answer;
  equal["aggregations"]["v"]["buckets"][1]["key"] = "http.status_code=d0";
  equal["aggregations"]["v"]["buckets"][2]["key"] = "http.status_code=d-0";
  read = ReadTagValues(equal, q);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->has_value());
  // A value too long to hold: scanned.
  json too_long = answer;
  too_long["aggregations"]["v"]["buckets"][1]["key"] = "http.status_code=!";
  read = ReadTagValues(too_long, q);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->has_value());
  json other_key = answer;
  other_key["aggregations"]["v"]["buckets"][0]["key"] = "http.route=s/";
  EXPECT_TRUE(absl::IsInternal(ReadTagValues(other_key, q).status()));
}

TEST(SearchAggregationsTest, OneRequestHoldsAtMostTheEnginesBucketLimit) {
  query::HistogramQuery q;
  q.aggregations.assign(1, query::Aggregation());
  EXPECT_EQ(TimeBucketsPerRequest(q), 0u);  // no interval: no time bucket
  q.interval_nano = 1;
  q.range = {0, kMaxPushedDownBuckets};  // one time bucket too many
  EXPECT_EQ(TimeBucketsPerRequest(q), 0u);
  q.range = {0, kMaxPushedDownBuckets - 1};
  EXPECT_EQ(TimeBucketsPerRequest(q), kMaxBucketsPerAnswer);
  query::Key service;
  service.level = query::KeyLevel::kResource;
  service.name = "service.name";
  q.aggregations[0].group_by = service;  // up to 500 services each
  EXPECT_EQ(TimeBucketsPerRequest(q), kMaxBucketsPerAnswer / 501);
  q.aggregations.push_back(query::Aggregation());
  q.aggregations[1].func = query::AggregationFunc::kPercentiles;  // up to 2,230 duration buckets
  q.aggregations[1].key = Intrinsic(query::Intrinsic::kDuration);
  EXPECT_EQ(TimeBucketsPerRequest(q), 0u);  // exact percentiles are not pushed down
  q.approximate = true;
  EXPECT_EQ(TimeBucketsPerRequest(q), kMaxBucketsPerAnswer / 2731);
  q.filters = {IntrinsicFilter(query::Intrinsic::kName, query::Operator::kContains,
                               std::string("op"))};
  EXPECT_EQ(TimeBucketsPerRequest(q), 0u);  // nor a filter the engine does not decide exactly
}

// A range whose daily indices do not exist (or were deleted by retention): the engine answers
// with no aggregations at all, and that is an empty answer, not a malformed one.
TEST(SearchAggregationsTest, NoIndexIsAnEmptyAnswer) {
  const json none = json::parse(R"({"hits": {"total": {"value": 0, "relation": "eq"}}})");
  absl::StatusOr<std::optional<query::StatisticsResult>> statistics =
      ReadStatistics(none, DurationStatistics());
  ASSERT_TRUE(statistics.ok()) << statistics.status();
  EXPECT_EQ(*statistics, query::StatisticsResult());
  query::HistogramQuery h;
  h.range = {0, 99};
  h.interval_nano = 10;
  h.aggregations.assign(1, query::Aggregation());
  h.aggregations[0].label = "count";
  absl::StatusOr<std::optional<query::HistogramResult>> histograms =
      ReadHistograms(none, h, kStartMillisSchema);
  ASSERT_TRUE(histograms.ok()) << histograms.status();
  ASSERT_TRUE(histograms->has_value());
  ASSERT_EQ((*histograms)->size(), 1u);
  EXPECT_EQ((**histograms)[0], (query::Histogram{"count", {}}));
  query::TagValuesQuery v;
  v.key = Intrinsic(query::Intrinsic::kKind);
  absl::StatusOr<std::optional<query::TagValuesResult>> values = ReadTagValues(none, v);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_TRUE(values->has_value());
  EXPECT_TRUE((*values)->values.empty());
  EXPECT_EQ((*values)->total_distinct, 0u);
}

}  // namespace
}  // namespace teletrace::storage::elasticsearch
