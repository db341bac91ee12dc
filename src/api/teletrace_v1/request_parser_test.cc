#include "api/teletrace_v1/request_parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1'700'000'000'000'000'000;

absl::Status SearchError(const std::string& body) {
  auto j = ParseBody(body);
  if (!j.ok()) return j.status();
  return ParseSearchRequest(*j, kNow).status();
}

TEST(RequestParserTest, EmptyBodyIsAllTimeDefaultSortAndPage) {
  auto q = ParseSearchRequest(*ParseBody(""), kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->range.start_unix_nano, 0u);
  EXPECT_EQ(q->range.end_unix_nano, UINT64_MAX);
  EXPECT_EQ(q->sort.field, query::SortField::kStartTime);
  EXPECT_FALSE(q->sort.ascending);
  EXPECT_EQ(q->page_size, 50u);
  EXPECT_TRUE(q->filters.empty());
  EXPECT_FALSE(q->after.has_value());
}

TEST(RequestParserTest, TimeframeEndZeroMeansNowAndStringsAreAccepted) {
  auto q = ParseSearchRequest(
      json::parse(R"({"timeframe":{"startTimeUnixNanoSec":"1699999999000000001",
                      "endTimeUnixNanoSec":0}})"),
      kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->range.start_unix_nano, 1699999999000000001u);
  EXPECT_EQ(q->range.end_unix_nano, kNow);
}

TEST(RequestParserTest, EndBeforeStartIsRejected) {
  EXPECT_EQ(SearchError(R"({"timeframe":{"startTimeUnixNanoSec":10,"endTimeUnixNanoSec":5}})"),
            absl::InvalidArgumentError("endTime cannot be smaller than startTime"));
}

TEST(RequestParserTest, BadBodiesNameTheField) {
  EXPECT_EQ(SearchError("{nope"), absl::InvalidArgumentError("request body: invalid JSON"));
  EXPECT_EQ(SearchError("[1]"),
            absl::InvalidArgumentError("request body: must be a JSON object, got array"));
  EXPECT_EQ(SearchError(R"({"timeframe":{"startTimeUnixNanoSec":-1}})"),
            absl::InvalidArgumentError(
                "timeframe.startTimeUnixNanoSec: must not be negative, got -1"));
  EXPECT_EQ(SearchError(R"({"filters":{}})"),
            absl::InvalidArgumentError("filters: must be an array"));
  EXPECT_EQ(SearchError(R"({"filters":[{"keyValueFilter":{"operator":"equals"}}]})"),
            absl::InvalidArgumentError("filters[0].key: required string is missing"));
  EXPECT_EQ(SearchError(R"({"sort":[{"field":"span.name"}]})"),
            absl::InvalidArgumentError(
                "sort[0].field: cannot sort by \"span.name\" (expected span.startTimeUnixNano or "
                "externalFields.durationNano)"));
  EXPECT_EQ(SearchError(R"({"pageSize":0})"),
            absl::InvalidArgumentError("pageSize: must be between 1 and 1000, got 0"));
  EXPECT_EQ(SearchError(R"({"metadata":{"nextToken":5}})"),
            absl::InvalidArgumentError("metadata.nextToken: must be a string"));
}

TEST(RequestParserTest, UnknownOperatorAndTypeMismatch) {
  EXPECT_EQ(
      SearchError(
          R"({"filters":[{"keyValueFilter":{"key":"span.name","operator":"foo","value":"x"}}]})"),
      absl::InvalidArgumentError(
          "filters[0].operator: unknown operator \"foo\" (expected one of equals, not_equals, in, "
          "not_in, contains, not_contains, exists, not_exists, gt, gte, lt, lte)"));
  EXPECT_EQ(
      SearchError(R"({"filters":[{"keyValueFilter":{"key":"span.name","operator":"gt","value":5}}]})"),
      absl::InvalidArgumentError(
          "filters[0].operator: operator \"gt\" does not apply to string key \"span.name\""));
}

TEST(RequestParserTest, FiltersSortPageAndCursor) {
  auto q = ParseSearchRequest(json::parse(R"({
      "filters":[
        {"keyValueFilter":{"key":"resource.attributes.service.name","operator":"in",
                           "value":["a","b"]}},
        {"keyValueFilter":{"key":"span.attributes.http.status_code","operator":"gte","value":500}},
        {"keyValueFilter":{"key":"span.attributes.ratio","operator":"lt","value":0.5}},
        {"keyValueFilter":{"key":"span.events.attributes.exception.type","operator":"exists"}}],
      "sort":[{"field":"externalFields.durationNano","ascending":true}],
      "pageSize":7})"),
                              kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->filters.size(), 4u);
  EXPECT_EQ(q->filters[0].key.level, query::KeyLevel::kResource);
  EXPECT_EQ(q->filters[0].key.name, "service.name");
  EXPECT_EQ(q->filters[0].op, query::Operator::kIn);
  EXPECT_EQ(q->filters[0].values,
            (std::vector<query::Scalar>{std::string("a"), std::string("b")}));
  EXPECT_EQ(q->filters[1].value, query::Scalar(int64_t{500}));
  EXPECT_EQ(q->filters[2].value, query::Scalar(0.5));
  EXPECT_EQ(q->filters[3].key.level, query::KeyLevel::kEvent);
  EXPECT_EQ(q->filters[3].key.name, "exception.type");
  EXPECT_EQ(q->sort.field, query::SortField::kDuration);
  EXPECT_TRUE(q->sort.ascending);
  EXPECT_EQ(q->page_size, 7u);
}

TEST(RequestParserTest, MalformedCursorIsRejected) {
  absl::Status s = SearchError(R"({"metadata":{"nextToken":"!!not-a-cursor"}})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), testing::StartsWith("metadata.nextToken: invalid cursor"));
}

TEST(RequestParserTest, StatisticsRequest) {
  auto q = ParseStatisticsRequest(
      "externalFields.durationNano",
      json::parse(R"({"desiredStatistics":["min","max","avg","p99"]})"), kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->wanted.size(), 4u);
  EXPECT_EQ(q->wanted[3].name, "p99");
  EXPECT_EQ(q->wanted[3].percentile, 99);
  EXPECT_EQ(ParseStatisticsRequest("span.name", json::parse(R"({"desiredStatistics":["min"]})"),
                                   kNow)
                .status(),
            absl::InvalidArgumentError("tag: \"span.name\" is not numeric"));
  EXPECT_EQ(ParseStatisticsRequest("externalFields.durationNano", json::object(), kNow).status(),
            absl::InvalidArgumentError("desiredStatistics: required non-empty array is missing"));
}

TEST(RequestParserTest, ApproximateIsAnOptionalBool) {
  const std::string base = R"("timeframe":{"startTimeUnixNanoSec":0,"endTimeUnixNanoSec":1},)"
                           R"("desiredStatistics":["p50"],"interval":60000000000,)"
                           R"("aggregations":{"c":{"func":"COUNT"}})";
  for (const auto& [field, want] : std::vector<std::pair<std::string, bool>>{
           {"", false}, {R"(,"approximate":null)", false}, {R"(,"approximate":false)", false},
           {R"(,"approximate":true)", true}}) {
    const json body = json::parse("{" + base + field + "}");
    auto stats = ParseStatisticsRequest("externalFields.durationNano", body, kNow);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->approximate, want) << field;
    auto histogram = ParseHistogramRequest(body, kNow);
    ASSERT_TRUE(histogram.ok()) << histogram.status();
    EXPECT_EQ(histogram->approximate, want) << field;
  }
  const json bad = json::parse("{" + base + R"(,"approximate":"yes"})");
  const absl::Status want = absl::InvalidArgumentError("approximate: must be a bool, got string");
  EXPECT_EQ(ParseStatisticsRequest("externalFields.durationNano", bad, kNow).status(), want);
  EXPECT_EQ(ParseHistogramRequest(bad, kNow).status(), want);
}

TEST(RequestParserTest, HistogramRequest) {
  auto q = ParseHistogramRequest(json::parse(R"({
      "timeframe":{"startTimeUnixNanoSec":0,"endTimeUnixNanoSec":60000000000},
      "interval":1000000000,"intervalKey":"span.startTimeUnixNano",
      "aggregations":{
        "count":{"func":"COUNT","groupBy":"resource.attributes.service.name","maxGroups":3},
        "traces":{"func":"DISTINCT_COUNT","key":"span.traceId"},
        "latency":{"func":"PERCENTILES","key":"externalFields.durationNano",
                   "aggregationParameters":{"percentiles":[50,99.9]}}}})"),
                                 kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->interval_nano, 1000000000u);
  ASSERT_EQ(q->aggregations.size(), 3u);
  // nlohmann::json objects iterate in key order.
  EXPECT_EQ(q->aggregations[0].label, "count");
  EXPECT_EQ(q->aggregations[0].max_groups, 3u);
  ASSERT_TRUE(q->aggregations[0].group_by.has_value());
  EXPECT_EQ(q->aggregations[1].label, "latency");
  EXPECT_EQ(q->aggregations[1].percentiles, (std::vector<double>{50, 99.9}));
  EXPECT_EQ(q->aggregations[2].func, query::AggregationFunc::kDistinctCount);

  EXPECT_EQ(ParseHistogramRequest(json::parse(R"({"interval":0,"aggregations":{"c":{"func":"COUNT"}}})"),
                                  kNow)
                .status(),
            absl::InvalidArgumentError("interval: must be greater than 0"));
  EXPECT_EQ(ParseHistogramRequest(json::parse(R"({"interval":5000000000000000,"aggregations":{"c":{"func":"SUM"}}})"),
                                  kNow)
                .status(),
            absl::InvalidArgumentError("aggregations.c.func: unknown function \"SUM\" (expected "
                                       "COUNT, DISTINCT_COUNT, PERCENTILES or RANGE_COUNT)"));
  EXPECT_EQ(ParseHistogramRequest(
                json::parse(R"({"timeframe":{"startTimeUnixNanoSec":0,"endTimeUnixNanoSec":1000000000},
                                "interval":1,"aggregations":{"c":{"func":"COUNT"}}})"),
                kNow)
                .status(),
            absl::InvalidArgumentError(
                "interval: 1 ns makes more than 100000 buckets over the timeframe"));
  // Issue 9 point 10: an open end (2^64-1) used to skip the bucket bound; a 1 ns interval then
  // made one bucket per stored span.
  EXPECT_EQ(ParseHistogramRequest(
                json::parse(R"({"timeframe":{"startTimeUnixNanoSec":0,"endTimeUnixNanoSec":18446744073709551615},
                                "interval":1,"aggregations":{"c":{"func":"COUNT"}}})"),
                kNow)
                .status(),
            absl::InvalidArgumentError(
                "interval: 1 ns makes more than 100000 buckets over the timeframe"));
}

TEST(RequestParserTest, HistogramRangeCount) {
  auto parse = [](const std::string& aggregation) {
    return ParseHistogramRequest(
        json::parse(R"({"interval":5000000000000000,"aggregations":{"h":)" + aggregation + "}}"),
        kNow);
  };
  auto q = parse(R"({"func":"RANGE_COUNT","key":"externalFields.durationNano",
                     "aggregationParameters":{"bounds":[0,1000,2500.5]}})");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->aggregations.size(), 1u);
  EXPECT_EQ(q->aggregations[0].func, query::AggregationFunc::kRangeCount);
  EXPECT_EQ(q->aggregations[0].bounds, (std::vector<double>{0, 1000, 2500.5}));

  const std::pair<std::string, std::string> bad[] = {
      {R"({"func":"RANGE_COUNT","aggregationParameters":{"bounds":[0]}})",
       "aggregations.h.key: required for RANGE_COUNT"},
      {R"({"func":"RANGE_COUNT","key":"span.name","aggregationParameters":{"bounds":[0]}})",
       "aggregations.h.key: \"span.name\" is not numeric"},
      {R"({"func":"RANGE_COUNT","key":"externalFields.durationNano"})",
       "aggregations.h.aggregationParameters.bounds: required non-empty array is missing"},
      {R"({"func":"RANGE_COUNT","key":"externalFields.durationNano",
           "aggregationParameters":{"bounds":[]}})",
       "aggregations.h.aggregationParameters.bounds: required non-empty array is missing"},
      {R"({"func":"RANGE_COUNT","key":"externalFields.durationNano",
           "aggregationParameters":{"bounds":[0,"5"]}})",
       "aggregations.h.aggregationParameters.bounds[1]: must be a finite number"},
      {R"({"func":"RANGE_COUNT","key":"externalFields.durationNano",
           "aggregationParameters":{"bounds":[0,10,10]}})",
       "aggregations.h.aggregationParameters.bounds[2]: bounds must be strictly ascending, 10 "
       "follows 10"},
      {R"({"func":"RANGE_COUNT","key":"externalFields.durationNano","groupBy":"span.name",
           "aggregationParameters":{"bounds":[0]}})",
       "aggregations.h.groupBy: only COUNT and PERCENTILES can be grouped"},
  };
  for (const auto& [aggregation, message] : bad) {
    EXPECT_EQ(parse(aggregation).status(), absl::InvalidArgumentError(message)) << aggregation;
  }
  json many = json::array();
  for (int i = 0; i <= 200; ++i) many.push_back(i);
  EXPECT_EQ(parse(R"({"func":"RANGE_COUNT","key":"externalFields.durationNano",
                      "aggregationParameters":{"bounds":)" + many.dump() + "}}")
                .status(),
            absl::InvalidArgumentError(
                "aggregations.h.aggregationParameters.bounds: at most 200 bounds, got 201"));
}

TEST(RequestParserTest, DependenciesRequest) {
  auto r = ParseDependenciesRequest(
      json::parse(R"({"timeframe":{"startTimeUnixNanoSec":5,"endTimeUnixNanoSec":9},"service":"web"})"),
      kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->range.start_unix_nano, 5u);
  EXPECT_EQ(r->range.end_unix_nano, 9u);
  EXPECT_EQ(r->service, "web");
  EXPECT_EQ(r->max_examined, kMaxDependencySpans);
  auto all = ParseDependenciesRequest(json::object(), kNow);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->service, "");
  EXPECT_EQ(ParseDependenciesRequest(json::parse(R"({"service":3})"), kNow).status(),
            absl::InvalidArgumentError("service: must be a string, got number"));
  EXPECT_EQ(ParseDependenciesRequest(json::parse(R"({"services":"web"})"), kNow).status(),
            absl::InvalidArgumentError("services: unknown field (expected timeframe or service)"));
}

TEST(RequestParserTest, TagValuesRequest) {
  auto q = ParseTagValuesRequest("span.attributes.http.method", json::parse(R"({"limit":5})"),
                                 kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->key.level, query::KeyLevel::kSpan);
  EXPECT_EQ(q->key.name, "http.method");
  EXPECT_EQ(q->limit, 5u);
  EXPECT_FALSE(q->range.has_value());
  EXPECT_FALSE(q->time_budget.has_value());
  EXPECT_EQ(ParseTagValuesRequest("bogus", json::object(), kNow).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto budgeted = ParseTagValuesRequest("span.attributes.user.id",
                                        json::parse(R"({"timeBudgetMs":300})"), kNow);
  ASSERT_TRUE(budgeted.ok()) << budgeted.status();
  EXPECT_EQ(budgeted->time_budget, std::chrono::milliseconds(300));
  EXPECT_EQ(ParseTagValuesRequest("span.name", json::parse(R"({"timeBudgetMs":0})"), kNow).status(),
            absl::InvalidArgumentError("timeBudgetMs: must be between 1 and 60000, got 0"));
  EXPECT_EQ(
      ParseTagValuesRequest("span.name", json::parse(R"({"timeBudgetMs":60001})"), kNow).status(),
      absl::InvalidArgumentError("timeBudgetMs: must be between 1 and 60000, got 60001"));
  EXPECT_EQ(
      ParseTagValuesRequest("span.name", json::parse(R"({"timeBudgetMs":-5})"), kNow).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace teletrace::api::v1
