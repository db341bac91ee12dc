#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::F;
using testing::K;
using testing::MakeSpan;
using testing::S;

model::StoredSpan At(uint8_t id, uint64_t start, std::string service, model::AnyValue latency) {
  model::StoredSpan s = MakeSpan(1, id, start);
  s.span.attributes = {{"service", std::move(service)}, {"latency", std::move(latency)}};
  return s;
}

std::vector<model::StoredSpan> Spans() {
  return {
      At(1, 5, "a", 10),     At(2, 50, "b", 20),  At(3, 99, "a", 30),  At(4, 150, "c", 5),
      At(5, 199, "c", 7.5),  At(6, 120, "b", "x"), At(7, 420, "a", 1),  At(8, 130, "d", 2),
      At(9, 1000, "a", 1),  // outside the range
  };
}

HistogramResult Collect(HistogramQuery q) {
  HistogramCollector c(q);
  for (const auto& s : Spans()) c.Add(s);
  return std::move(c).Finish();
}

Aggregation Agg(std::string label, AggregationFunc func) {
  Aggregation a;
  a.label = std::move(label);
  a.func = func;
  return a;
}

HistogramQuery Base() {
  HistogramQuery q;
  q.range = TimeRange{0, 999};
  q.interval_nano = 100;
  return q;
}

std::vector<uint64_t> Keys(const Histogram& h) {
  std::vector<uint64_t> out;
  for (const auto& b : h.buckets) out.push_back(b.bucket_key);
  return out;
}

TEST(HistogramCollectorTest, CountPerBucketSkippingEmptyOnes) {
  HistogramQuery q = Base();
  q.aggregations = {Agg("spans", AggregationFunc::kCount)};
  HistogramResult r = Collect(q);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].label, "spans");
  EXPECT_EQ(Keys(r[0]), (std::vector<uint64_t>{0, 100, 400}));
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[0].data), 3u);
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[1].data), 4u);
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[2].data), 1u);
}

TEST(HistogramCollectorTest, CountGroupedByAKey) {
  HistogramQuery q = Base();
  Aggregation agg = Agg("by service", AggregationFunc::kCount);
  agg.group_by = K("span.attributes.service");
  agg.max_groups = 2;
  q.aggregations = {agg};
  HistogramResult r = Collect(q);
  ASSERT_EQ(r[0].buckets.size(), 3u);
  const auto& b0 = std::get<GroupedCount>(r[0].buckets[0].data);
  EXPECT_EQ(b0.total_count, 3u);
  ASSERT_EQ(b0.sub_buckets.size(), 2u);
  EXPECT_EQ(b0.sub_buckets[0].key, TagValue(std::string("a")));
  EXPECT_EQ(b0.sub_buckets[0].count, 2u);
  EXPECT_EQ(b0.sub_buckets[1].key, TagValue(std::string("b")));
  EXPECT_EQ(b0.sub_buckets[1].count, 1u);
  // Bucket 100: c 2, b 1, d 1 -> the tie between b and d is broken by key, and d is cut.
  const auto& b1 = std::get<GroupedCount>(r[0].buckets[1].data);
  EXPECT_EQ(b1.total_count, 4u);
  ASSERT_EQ(b1.sub_buckets.size(), 2u);
  EXPECT_EQ(b1.sub_buckets[0].key, TagValue(std::string("c")));
  EXPECT_EQ(b1.sub_buckets[0].count, 2u);
  EXPECT_EQ(b1.sub_buckets[1].key, TagValue(std::string("b")));
  EXPECT_EQ(b1.sub_buckets[1].count, 1u);
}

TEST(HistogramCollectorTest, DistinctCountAndPercentilesWithFilters) {
  HistogramQuery q = Base();
  q.filters = {F("span.attributes.service", Operator::kNotEquals, S("d"))};
  Aggregation distinct = Agg("services", AggregationFunc::kDistinctCount);
  distinct.key = K("span.attributes.service");
  Aggregation pct = Agg("latency", AggregationFunc::kPercentiles);
  pct.key = K("span.attributes.latency");
  pct.percentiles = {50, 99.9};
  q.aggregations = {distinct, pct};
  HistogramResult r = Collect(q);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].label, "services");
  EXPECT_EQ(Keys(r[0]), (std::vector<uint64_t>{0, 100, 400}));
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[0].data), 2u);  // a, b
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[1].data), 2u);  // c, b (d filtered out)
  EXPECT_EQ(std::get<uint64_t>(r[0].buckets[2].data), 1u);
  EXPECT_EQ(r[1].label, "latency");
  EXPECT_EQ(Keys(r[1]), (std::vector<uint64_t>{0, 100, 400}));
  using P = std::map<std::string, double>;
  EXPECT_EQ(std::get<P>(r[1].buckets[0].data), (P{{"50.0", 20}, {"99.9", 30}}));
  EXPECT_EQ(std::get<P>(r[1].buckets[1].data), (P{{"50.0", 5}, {"99.9", 7.5}}));  // "x" skipped
  EXPECT_EQ(std::get<P>(r[1].buckets[2].data), (P{{"50.0", 1}, {"99.9", 1}}));
}

TEST(HistogramCollectorTest, NoMatchesNoBuckets) {
  HistogramQuery q = Base();
  q.filters = {F("span.attributes.service", Operator::kEquals, S("zzz"))};
  q.aggregations = {Agg("spans", AggregationFunc::kCount)};
  HistogramResult r = Collect(q);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].buckets.empty());
}

}  // namespace
}  // namespace teletrace::query
