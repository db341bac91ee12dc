#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/percentile.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::F;
using testing::K;
using testing::MakeSpan;
using testing::S;

std::vector<Statistic> Wanted(std::vector<std::string> names) {
  std::vector<Statistic> out;
  for (const std::string& n : names) out.push_back(*ParseStatistic(n, "desiredStatistics"));
  return out;
}

model::StoredSpan WithValue(uint8_t id, model::AnyValue v, uint64_t start = 100) {
  model::StoredSpan s = MakeSpan(1, id, start);
  s.span.attributes = {{"latency", std::move(v)}, {"group", id % 2 == 0 ? "even" : "odd"}};
  return s;
}

TEST(StatisticsCollectorTest, AllStatisticsByNearestRank) {
  StatisticsQuery q;
  q.key = K("span.attributes.latency");
  q.wanted = Wanted({"min", "max", "avg", "sum", "count", "p50", "p55", "p90", "p99", "p0.1",
                     "p100"});
  StatisticsCollector c(q);
  for (int i = 10; i >= 1; --i) c.Add(WithValue(static_cast<uint8_t>(i), i));
  c.Add(WithValue(20, "not a number"));
  c.Add(WithValue(21, model::ArrayValue{100}));
  StatisticsResult r = std::move(c).Finish();
  EXPECT_EQ(r, (StatisticsResult{{"min", 1},
                                  {"max", 10},
                                  {"avg", 5.5},
                                  {"sum", 55},
                                  {"count", 10},
                                  {"p50", 5},
                                  {"p55", 6},
                                  {"p90", 9},
                                  {"p99", 10},
                                  {"p0.1", 1},
                                  {"p100", 10}}));
}

TEST(StatisticsCollectorTest, IntsAndDoublesTogether) {
  StatisticsQuery q;
  q.key = K("span.attributes.latency");
  q.wanted = Wanted({"min", "max", "avg", "count", "p50"});
  StatisticsCollector c(q);
  c.Add(WithValue(1, 1));
  c.Add(WithValue(2, 2.5));
  c.Add(WithValue(3, -0.5));
  c.Add(WithValue(4, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(std::move(c).Finish(),
            (StatisticsResult{{"min", -0.5}, {"max", 2.5}, {"avg", 1}, {"count", 3}, {"p50", 1}}));
}

TEST(StatisticsCollectorTest, AppliesRangeAndFiltersAndIsEmptyWithoutValues) {
  StatisticsQuery q;
  q.key = K("span.attributes.latency");
  q.wanted = Wanted({"min", "count"});
  q.range = TimeRange{50, 150};
  q.filters = {F("span.attributes.group", Operator::kEquals, S("even"))};
  StatisticsCollector c(q);
  c.Add(WithValue(2, 7, 100));
  c.Add(WithValue(4, 3, 200));   // out of range
  c.Add(WithValue(1, 1, 100));   // filtered out
  c.Add(WithValue(6, 9, 50));
  EXPECT_EQ(std::move(c).Finish(), (StatisticsResult{{"min", 7}, {"count", 2}}));

  StatisticsCollector empty(q);
  empty.Add(WithValue(1, 1, 100));
  EXPECT_TRUE(std::move(empty).Finish().empty());
}

TEST(StatisticsCollectorTest, IntrinsicDuration) {
  StatisticsQuery q;
  q.key = K("externalFields.durationNano");
  q.wanted = Wanted({"max", "p50"});
  StatisticsCollector c(q);
  c.Add(MakeSpan(1, 1, 100, 30));
  c.Add(MakeSpan(1, 2, 100, 10));
  c.Add(MakeSpan(1, 3, 100, 20));
  EXPECT_EQ(std::move(c).Finish(), (StatisticsResult{{"max", 30}, {"p50", 20}}));
}

// Selection gives what sorting gives, for any order of the wanted percentiles, repeated ones and
// runs of equal values included.
TEST(PercentileTest, SelectionAgreesWithSorting) {
  std::mt19937_64 rng(7);
  const std::vector<double> percentiles = {99, 50, 0.1, 100, 50, 75.5, 1, 99.9};
  for (size_t n : {1, 2, 3, 10, 101, 1000}) {
    std::vector<double> values(n);
    for (double& v : values) v = static_cast<double>(rng() % (n / 2 + 1));
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> got = NearestRanks(values, percentiles);
    ASSERT_EQ(got.size(), percentiles.size());
    for (size_t i = 0; i < percentiles.size(); ++i) {
      EXPECT_EQ(got[i], NearestRank(sorted, percentiles[i])) << n << " values, p" << percentiles[i];
    }
  }
}

TEST(PercentileTest, NearestRankAndLabels) {
  std::vector<double> v = {1, 2, 3, 4};
  EXPECT_EQ(NearestRank(v, 25), 1);
  EXPECT_EQ(NearestRank(v, 25.1), 2);
  EXPECT_EQ(NearestRank(v, 50), 2);
  EXPECT_EQ(NearestRank(v, 75), 3);
  EXPECT_EQ(NearestRank(v, 100), 4);
  EXPECT_EQ(NearestRank(v, 0.0001), 1);
  EXPECT_EQ(NearestRank({7}, 99.9), 7);
  EXPECT_EQ(PercentileLabel(50), "50.0");
  EXPECT_EQ(PercentileLabel(99.9), "99.9");
  EXPECT_EQ(PercentileLabel(99.95), "99.95");
  EXPECT_EQ(PercentileLabel(100), "100.0");
  EXPECT_EQ(PercentileLabel(0.5), "0.5");
}

}  // namespace
}  // namespace teletrace::query
