#include <algorithm>
#include <cmath>
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
// Spans 1..n with durations over several scales, starting at 100.
std::vector<model::StoredSpan> WithDurations(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<model::StoredSpan> out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t scale = uint64_t{1} << (rng() % 40);
    out.push_back(MakeSpan(1, static_cast<uint8_t>(i + 1), 100, rng() % scale));
  }
  return out;
}

TEST(StatisticsCollectorTest, BlocksAddedFromAggregatesAnswerAsTheirSpans) {
  StatisticsQuery q;
  q.key = K("externalFields.durationNano");
  q.range = TimeRange{0, 1000};
  q.wanted = Wanted({"min", "max", "avg", "sum", "count"});
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    StatisticsCollector spans(q), blocks(q);
    ASSERT_TRUE(blocks.TakesAggregates());
    for (size_t b = 0; b < 4; ++b) {
      std::vector<model::StoredSpan> block = WithDurations(b == 2 ? 0 : 50 + b, seed * 10 + b);
      for (const auto& s : block) spans.Add(s);
      if (b == 0) {
        for (const auto& s : block) blocks.Add(s);  // one decoded block among them
      } else {
        ASSERT_TRUE(blocks.AddAggregates(testing::AggregatesOf(block)));
      }
    }
    EXPECT_EQ(std::move(blocks).Finish(), std::move(spans).Finish()) << seed;
  }
}

TEST(StatisticsCollectorTest, ApproximatePercentilesAreWithinTheSketchError) {
  StatisticsQuery q;
  q.key = K("externalFields.durationNano");
  q.range = TimeRange{0, 1000};
  q.wanted = Wanted({"count", "min", "p1", "p50", "p90", "p99", "p100", "max"});
  StatisticsQuery exact_q = q;
  q.approximate = true;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    StatisticsCollector exact(exact_q), approximate(q);
    ASSERT_FALSE(exact.TakesAggregates());
    ASSERT_TRUE(approximate.TakesAggregates());
    for (size_t b = 0; b < 5; ++b) {
      std::vector<model::StoredSpan> block = WithDurations(100 + b, seed * 10 + b);
      for (const auto& s : block) exact.Add(s);
      if (b == 1) {
        for (const auto& s : block) approximate.Add(s);
      } else {
        ASSERT_TRUE(approximate.AddAggregates(testing::AggregatesOf(block)));
      }
    }
    StatisticsResult want = std::move(exact).Finish();
    StatisticsResult got = std::move(approximate).Finish();
    ASSERT_EQ(got.size(), want.size());
    for (const char* name : {"count", "min", "max", "p100"}) {
      EXPECT_EQ(got[name], want[name]) << name << " seed " << seed;  // exact bounds clamp p100
    }
    for (const char* name : {"p1", "p50", "p90", "p99"}) {
      EXPECT_LE(std::abs(got[name] - want[name]), kDurationSketchRelativeError * want[name])
          << name << " seed " << seed << ": " << got[name] << " for " << want[name];
    }
  }
}

TEST(StatisticsCollectorTest, RefusesAggregatesThatWouldChangeTheAnswer) {
  const DurationAggregates block = testing::AggregatesOf(WithDurations(10, 3));
  StatisticsQuery q;
  q.key = K("span.attributes.latency");
  q.wanted = Wanted({"count"});
  EXPECT_FALSE(StatisticsCollector(q).TakesAggregates());
  EXPECT_FALSE(StatisticsCollector(q).AddAggregates(block));
  q.key = K("externalFields.durationNano");
  q.wanted = Wanted({"count", "p50"});  // exact percentiles need every value
  EXPECT_FALSE(StatisticsCollector(q).TakesAggregates());
  EXPECT_FALSE(StatisticsCollector(q).AddAggregates(block));
  q.wanted = Wanted({"count", "max"});
  StatisticsCollector c(q);
  // A duration past INT64_MAX is negative as the key sees it.
  std::vector<model::StoredSpan> huge = {MakeSpan(1, 1, 0, uint64_t{1} << 63)};
  EXPECT_FALSE(c.AddAggregates(testing::AggregatesOf(huge)));
  EXPECT_TRUE(c.AddAggregates(DurationAggregates()));
  EXPECT_TRUE(std::move(c).Finish().empty());  // nothing was added
}

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
