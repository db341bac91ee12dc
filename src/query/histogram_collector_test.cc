#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"
#include "query/values.h"

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

// Grouping looks strings up as string_views: the transparent comparator must order them exactly
// as CompareTagValues orders the strings, against values of every type.
TEST(TagValueLessTest, StringViewsCompareAsTheirStrings) {
  const std::vector<TagValue> values = {TagValue(false), TagValue(true), TagValue(int64_t{-3}),
                                        TagValue(5.0), TagValue(std::nan("")),
                                        TagValue(std::string()), TagValue(std::string("a")),
                                        TagValue(std::string("ab")), TagValue(std::string("\xff"))};
  const TagValueLess less;
  for (const TagValue& a : values) {
    const auto* s = std::get_if<std::string>(&a);
    if (s == nullptr) continue;
    for (const TagValue& b : values) {
      EXPECT_EQ(less(std::string_view(*s), b), CompareTagValues(a, b) < 0) << *s;
      EXPECT_EQ(less(b, std::string_view(*s)), CompareTagValues(b, a) < 0) << *s;
    }
  }
}

// Group values of every type keep their order and counts (strings take the lookup without a copy).
TEST(HistogramCollectorTest, GroupsOfEveryValueTypeKeepTheirOrder) {
  HistogramQuery q = Base();
  q.interval_nano = 1000;
  Aggregation agg = Agg("by kind", AggregationFunc::kCount);
  agg.group_by = K("span.attributes.service");
  agg.max_groups = 100;
  q.aggregations = {agg};
  HistogramCollector c(q);
  const std::vector<model::AnyValue> values = {
      model::AnyValue("b"), model::AnyValue(true), model::AnyValue(int64_t{5}),
      model::AnyValue(5.0), model::AnyValue("a"), model::AnyValue("b"), model::AnyValue(false),
      model::AnyValue(""), model::AnyValue("b"), model::AnyValue(int64_t{5})};
  uint8_t id = 1;
  for (const model::AnyValue& v : values) {
    model::StoredSpan s = MakeSpan(1, id++, 10);
    s.span.attributes = {{"service", v}};
    c.Add(s);
  }
  HistogramResult r = std::move(c).Finish();
  ASSERT_EQ(r[0].buckets.size(), 1u);
  const auto& groups = std::get<GroupedCount>(r[0].buckets[0].data);
  EXPECT_EQ(groups.total_count, 10u);
  std::vector<std::pair<TagValue, uint64_t>> got;
  for (const SubBucket& b : groups.sub_buckets) got.emplace_back(b.key, b.count);
  // Largest first, ties in value order: bools, numbers (an int64 before an equal double), strings.
  EXPECT_EQ(got, (std::vector<std::pair<TagValue, uint64_t>>{
                     {TagValue(std::string("b")), 3},
                     {TagValue(int64_t{5}), 2},
                     {TagValue(false), 1},
                     {TagValue(true), 1},
                     {TagValue(5.0), 1},
                     {TagValue(std::string()), 1},
                     {TagValue(std::string("a")), 1}}));
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

namespace teletrace::query {
namespace {

// A block of n spans starting at `start` + i, with statuses, names and durations varying.
std::vector<model::StoredSpan> Block(size_t n, uint64_t start, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<model::StoredSpan> out;
  for (size_t i = 0; i < n; ++i) {
    model::StoredSpan s = testing::MakeSpan(2, static_cast<uint8_t>(i + 1), start + i,
                                            rng() % (uint64_t{1} << (rng() % 36)));
    s.span.status.code = rng() % 3 == 0 ? model::StatusCode::kError : model::StatusCode::kUnset;
    s.span.name = rng() % 2 == 0 ? "GET" : "POST";
    out.push_back(std::move(s));
  }
  return out;
}

// Value counts of `spans` as a backend keeps them per block.
BlockCountsFn CountsOf(const std::vector<model::StoredSpan>& spans) {
  return [spans](const Key& key, const std::function<void(const TagValue&, uint64_t)>& fn) {
    if (key.level != KeyLevel::kIntrinsic) return false;
    std::vector<std::pair<TagValue, uint64_t>> counts;
    for (const auto& s : spans) {
      TagValuesCollector::ForEachCountedValue(key, s, [&](const TagValue& v) {
        for (auto& [value, n] : counts) {
          if (CompareTagValues(value, v) == 0) {
            ++n;
            return;
          }
        }
        counts.emplace_back(v, 1);
      });
    }
    for (const auto& [value, n] : counts) fn(value, n);
    return true;
  };
}

// Duration aggregates per value of `spans`, as a backend keeps them for the keys blocks group
// their spans by.
BlockDurationsFn DurationsOf(const std::vector<model::StoredSpan>& spans) {
  return [spans](const Key& key,
                 const std::function<void(const TagValue&, const DurationAggregates&)>& fn) {
    if (key.level != KeyLevel::kIntrinsic) return false;
    std::vector<std::pair<TagValue, std::vector<model::StoredSpan>>> groups;
    for (const auto& s : spans) {
      TagValuesCollector::ForEachCountedValue(key, s, [&](const TagValue& v) {
        for (auto& [value, group] : groups) {
          if (CompareTagValues(value, v) == 0) {
            group.push_back(s);
            return;
          }
        }
        groups.emplace_back(v, std::vector<model::StoredSpan>{s});
      });
    }
    for (const auto& [value, group] : groups) fn(value, testing::AggregatesOf(group));
    return true;
  };
}

HistogramQuery Mixed(bool approximate) {
  HistogramQuery q;
  q.range = TimeRange{0, 100000};
  q.interval_nano = 1000;
  q.approximate = approximate;
  q.aggregations.push_back(Agg("count", AggregationFunc::kCount));
  Aggregation by_status = Agg("by_status", AggregationFunc::kCount);
  by_status.group_by = K("span.status.code");
  q.aggregations.push_back(by_status);
  Aggregation names = Agg("names", AggregationFunc::kDistinctCount);
  names.key = K("span.name");
  q.aggregations.push_back(names);
  Aggregation p = Agg("p", AggregationFunc::kPercentiles);
  p.key = K("externalFields.durationNano");
  p.percentiles = {1, 50, 99, 100};
  q.aggregations.push_back(p);
  return q;
}

TEST(HistogramCollectorTest, BlocksAddedFromAggregatesAnswerAsTheirSpans) {
  HistogramQuery q = Mixed(true);
  q.aggregations.pop_back();  // exact: no percentiles
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HistogramCollector spans(q), blocks(q);
    ASSERT_TRUE(blocks.TakesAggregates());
    for (uint64_t b = 0; b < 6; ++b) {
      // Blocks 0 and 3 share bucket 2000, block 5 is added span by span.
      const uint64_t start = b == 3 ? 2100 : b * 1000 + 50;
      std::vector<model::StoredSpan> block = Block(40 + b, start, seed * 10 + b);
      for (const auto& s : block) spans.Add(s);
      if (b == 5) {
        for (const auto& s : block) blocks.Add(s);
      } else {
        ASSERT_EQ(blocks.BucketKey(block.front().span.start_time_unix_nano),
                  blocks.BucketKey(block.back().span.start_time_unix_nano));
        ASSERT_TRUE(blocks.CanAddAggregates(testing::AggregatesOf(block), CountsOf(block)));
        ASSERT_TRUE(blocks.AddAggregates(start, testing::AggregatesOf(block), CountsOf(block)));
      }
    }
    EXPECT_EQ(std::move(blocks).Finish(), std::move(spans).Finish()) << seed;
  }
}

TEST(HistogramCollectorTest, ApproximatePercentilesAreWithinTheSketchError) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HistogramCollector exact(Mixed(false)), approximate(Mixed(true));
    ASSERT_FALSE(exact.TakesAggregates());
    ASSERT_TRUE(approximate.TakesAggregates());
    for (uint64_t b = 0; b < 6; ++b) {
      const uint64_t start = (b % 3) * 1000;
      std::vector<model::StoredSpan> block = Block(200, start, seed * 10 + b);
      for (const auto& s : block) exact.Add(s);
      if (b == 4) {
        for (const auto& s : block) approximate.Add(s);
      } else {
        ASSERT_TRUE(approximate.AddAggregates(start, testing::AggregatesOf(block),
                                              CountsOf(block)));
      }
    }
    HistogramResult want = std::move(exact).Finish();
    HistogramResult got = std::move(approximate).Finish();
    ASSERT_EQ(got.size(), 4u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << i << " seed " << seed;
    ASSERT_EQ(Keys(got[3]), (std::vector<uint64_t>{0, 1000, 2000}));
    for (size_t b = 0; b < 3; ++b) {
      const auto& w = std::get<std::map<std::string, double>>(want[3].buckets[b].data);
      const auto& g = std::get<std::map<std::string, double>>(got[3].buckets[b].data);
      ASSERT_EQ(g.size(), 4u);
      EXPECT_EQ(g.at("100.0"), w.at("100.0"));  // the exact maximum bounds it
      for (const char* p : {"1.0", "50.0", "99.0"}) {
        EXPECT_LE(std::abs(g.at(p) - w.at(p)), kDurationSketchRelativeError * w.at(p))
            << p << " seed " << seed << ": " << g.at(p) << " for " << w.at(p);
      }
    }
  }
}

// Grouped approximate duration percentiles: a group past 8,192 values answers from its sketch
// (within its error, the extreme ranks exact), a smaller one exactly; parts merged in order give
// the sequential answer.
TEST(HistogramCollectorTest, GroupedApproximatePercentilesFoldLargeGroupsIntoSketches) {
  auto query = [](bool approximate) {
    HistogramQuery q;
    q.range = TimeRange{0, UINT64_MAX};
    q.interval_nano = UINT64_MAX;
    q.approximate = approximate;
    Aggregation p = Agg("p", AggregationFunc::kPercentiles);
    p.key = K("externalFields.durationNano");
    p.group_by = K("span.name");
    p.percentiles = {1, 50, 99, 100};
    q.aggregations = {p};
    return q;
  };
  int sketched = 0;  // large groups' percentiles that differ from the exact value: read a sketch
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    std::vector<model::StoredSpan> spans = Block(30000, 0, seed);  // GET and POST, ~15,000 each
    for (model::StoredSpan& s : Block(100, 40000, seed + 100)) {
      s.span.name = "PUT";
      spans.push_back(std::move(s));
    }
    HistogramCollector exact(query(false)), approximate(query(true)), merged(query(true));
    for (const auto& s : spans) {
      exact.Add(s);
      approximate.Add(s);
    }
    std::mt19937_64 rng(seed);
    for (size_t first = 0; first < spans.size();) {
      const size_t last = std::min(spans.size(), first + 1 + rng() % 3000);
      HistogramCollector part = merged.Part();
      for (size_t i = first; i < last; ++i) part.Add(spans[i]);
      merged.Merge(std::move(part));
      first = last;
    }
    const HistogramResult want = std::move(exact).Finish();
    const HistogramResult got = std::move(approximate).Finish();
    EXPECT_EQ(std::move(merged).Finish(), got) << seed;
    const auto& w = std::get<GroupedPercentiles>(want[0].buckets.at(0).data);
    const auto& g = std::get<GroupedPercentiles>(got[0].buckets.at(0).data);
    EXPECT_EQ(g.total_count, 30100u);
    ASSERT_EQ(g.groups.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_EQ(g.groups[i].key, w.groups[i].key);
      EXPECT_EQ(g.groups[i].count, w.groups[i].count);
      const auto& gp = g.groups[i].percentiles;
      const auto& wp = w.groups[i].percentiles;
      if (g.groups[i].key == TagValue(std::string("PUT"))) {
        EXPECT_EQ(gp, wp);  // 100 values: exact
        continue;
      }
      EXPECT_EQ(gp.at("100.0"), wp.at("100.0"));
      for (const char* p : {"1.0", "50.0", "99.0"}) {
        EXPECT_LE(std::abs(gp.at(p) - wp.at(p)), kDurationSketchRelativeError * wp.at(p))
            << p << " seed " << seed;
        if (gp.at(p) != wp.at(p)) ++sketched;
      }
    }
  }
  EXPECT_GT(sketched, 0);
}

// Every aggregation, grouped and not, over an attribute whose values include 0.0 and -0.0 (equal
// values with two representations: the first added is the one reported).
HistogramQuery EveryAggregation(bool approximate) {
  HistogramQuery q = Mixed(approximate);
  Aggregation by_value = Agg("by_value", AggregationFunc::kCount);
  by_value.group_by = K("span.attributes.v");
  q.aggregations.push_back(by_value);
  Aggregation grouped = Agg("grouped", AggregationFunc::kPercentiles);
  grouped.key = K("externalFields.durationNano");
  grouped.group_by = K("span.attributes.v");
  grouped.percentiles = {50, 90};
  q.aggregations.push_back(grouped);
  Aggregation ranges = Agg("ranges", AggregationFunc::kRangeCount);
  ranges.key = K("externalFields.durationNano");
  ranges.bounds = {0, 1000, 1000000};
  q.aggregations.push_back(ranges);
  Aggregation values = Agg("values", AggregationFunc::kDistinctCount);
  values.key = K("span.attributes.v");
  q.aggregations.push_back(values);
  return q;
}

TEST(HistogramCollectorTest, PartsMergedInOrderAnswerAsSequentialAdds) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const HistogramQuery q = EveryAggregation(false);
    HistogramCollector sequential(q), merged(q);
    std::mt19937_64 rng(seed);
    for (uint64_t b = 0; b < 8; ++b) {
      std::vector<model::StoredSpan> block = Block(1 + rng() % 60, rng() % 5000, seed * 100 + b);
      for (model::StoredSpan& s : block) {
        const int pick = static_cast<int>(rng() % 4);
        s.span.attributes = {{"v", pick == 0 ? model::AnyValue(-0.0)
                                   : pick == 1 ? model::AnyValue(0.0)
                                               : model::AnyValue(static_cast<double>(pick))}};
      }
      HistogramCollector part = merged.Part();
      for (const auto& s : block) {
        sequential.Add(s);
        part.Add(s);
      }
      merged.Merge(std::move(part));
    }
    HistogramResult want = std::move(sequential).Finish();
    HistogramResult got = std::move(merged).Finish();
    ASSERT_EQ(got.size(), 8u);
    EXPECT_EQ(got, want) << seed;
    // == takes 0.0 for -0.0: the reported sign is that of the first added, as sequentially.
    for (size_t b = 0; b < want[4].buckets.size(); ++b) {
      const auto& w = std::get<GroupedCount>(want[4].buckets[b].data).sub_buckets;
      const auto& g = std::get<GroupedCount>(got[4].buckets[b].data).sub_buckets;
      ASSERT_EQ(g.size(), w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        EXPECT_EQ(std::signbit(std::get<double>(g[i].key)),
                  std::signbit(std::get<double>(w[i].key)))
            << seed;
      }
    }
  }
}

TEST(HistogramCollectorTest, PartsAndBlockAggregatesMergeAsSequentialAdds) {
  HistogramQuery q = Mixed(true);
  q.aggregations.pop_back();  // the exact aggregations: approximate percentiles are tested below
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HistogramCollector sequential(q), merged(q);
    for (uint64_t b = 0; b < 6; ++b) {
      std::vector<model::StoredSpan> block = Block(30 + b, b * 700, seed * 10 + b);
      for (const auto& s : block) sequential.Add(s);
      const bool one_bucket = merged.BucketKey(block.front().span.start_time_unix_nano) ==
                              merged.BucketKey(block.back().span.start_time_unix_nano);
      if (b % 2 == 0 && one_bucket) {
        ASSERT_TRUE(merged.AddAggregates(block.front().span.start_time_unix_nano,
                                         testing::AggregatesOf(block), CountsOf(block)));
      } else {
        HistogramCollector part = merged.Part();
        for (const auto& s : block) part.Add(s);
        merged.Merge(std::move(part));
      }
    }
    EXPECT_EQ(std::move(merged).Finish(), std::move(sequential).Finish()) << seed;
  }
}

TEST(HistogramCollectorTest, ApproximatePartsMergeTheirSketches) {
  // Parts of an approximate query that take whole blocks' aggregates merge those sketches: the
  // same answer as one collector given every block.
  const HistogramQuery q = Mixed(true);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HistogramCollector one(q), merged(q);
    for (uint64_t b = 0; b < 6; ++b) {
      const uint64_t start = (b % 3) * 1000;
      std::vector<model::StoredSpan> block = Block(100, start, seed * 10 + b);
      HistogramCollector part = merged.Part();
      if (b % 2 == 0) {
        ASSERT_TRUE(one.AddAggregates(start, testing::AggregatesOf(block), CountsOf(block)));
        ASSERT_TRUE(part.AddAggregates(start, testing::AggregatesOf(block), CountsOf(block)));
      } else {
        for (const auto& s : block) {
          one.Add(s);
          part.Add(s);
        }
      }
      merged.Merge(std::move(part));
    }
    EXPECT_EQ(std::move(merged).Finish(), std::move(one).Finish()) << seed;
  }
}

TEST(HistogramCollectorTest, GroupedPercentilesFromGroupDurationsAreWithinTheSketchError) {
  HistogramQuery approximate = Mixed(true);
  approximate.aggregations.back().group_by = K("span.name");
  HistogramQuery exact = approximate;
  exact.approximate = false;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HistogramCollector want_collector(exact), blocks(approximate);
    ASSERT_TRUE(blocks.TakesAggregates());
    for (uint64_t b = 0; b < 6; ++b) {
      const uint64_t start = (b % 3) * 1000;
      std::vector<model::StoredSpan> block = Block(150, start, seed * 10 + b);
      for (const auto& s : block) want_collector.Add(s);
      if (b == 4) {  // one block span by span: its values join the groups' sketches
        for (const auto& s : block) blocks.Add(s);
        continue;
      }
      ASSERT_TRUE(blocks.AddAggregates(start, testing::AggregatesOf(block), CountsOf(block),
                                       DurationsOf(block)));
    }
    HistogramResult want = std::move(want_collector).Finish();
    HistogramResult got = std::move(blocks).Finish();
    ASSERT_EQ(got.size(), 4u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << i << " seed " << seed;
    ASSERT_EQ(Keys(got[3]), (std::vector<uint64_t>{0, 1000, 2000}));
    for (size_t b = 0; b < 3; ++b) {
      const auto& w = std::get<GroupedPercentiles>(want[3].buckets[b].data);
      const auto& g = std::get<GroupedPercentiles>(got[3].buckets[b].data);
      EXPECT_EQ(g.total_count, w.total_count);
      ASSERT_EQ(g.groups.size(), 2u);
      ASSERT_EQ(w.groups.size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(g.groups[i].key, w.groups[i].key);
        EXPECT_EQ(g.groups[i].count, w.groups[i].count);
        const auto& gp = g.groups[i].percentiles;
        const auto& wp = w.groups[i].percentiles;
        EXPECT_EQ(gp.at("100.0"), wp.at("100.0"));  // the exact maximum bounds it
        for (const char* p : {"1.0", "50.0", "99.0"}) {
          EXPECT_LE(std::abs(gp.at(p) - wp.at(p)), kDurationSketchRelativeError * wp.at(p))
              << p << " seed " << seed << ": " << gp.at(p) << " for " << wp.at(p);
        }
      }
    }
  }
}

TEST(HistogramCollectorTest, RefusesAggregatesThatWouldChangeTheAnswer) {
  const std::vector<model::StoredSpan> block = Block(10, 0, 1);
  const DurationAggregates durations = testing::AggregatesOf(block);
  // Exact percentiles, grouped percentiles, range counts: the values are needed.
  HistogramQuery q = Mixed(false);
  EXPECT_FALSE(HistogramCollector(q).TakesAggregates());
  EXPECT_FALSE(HistogramCollector(q).AddAggregates(0, durations, CountsOf(block)));
  q = Mixed(true);
  q.aggregations[3].group_by = K("span.events.name");  // several values per span
  EXPECT_FALSE(HistogramCollector(q).TakesAggregates());
  // Grouped approximate percentiles: taken with durations per group value only.
  q = Mixed(true);
  q.aggregations[3].group_by = K("span.name");
  EXPECT_TRUE(HistogramCollector(q).TakesAggregates());
  EXPECT_FALSE(HistogramCollector(q).CanAddAggregates(durations, CountsOf(block)));
  EXPECT_FALSE(HistogramCollector(q).AddAggregates(0, durations, CountsOf(block),
                                                   [](const Key&, const auto&) { return false; }));
  q = Mixed(true);
  q.aggregations[3].key = K("span.attributes.latency");
  EXPECT_FALSE(HistogramCollector(q).TakesAggregates());
  q = Mixed(true);
  q.aggregations[0].func = AggregationFunc::kRangeCount;
  EXPECT_FALSE(HistogramCollector(q).TakesAggregates());
  // A group key the counts cannot tell, or a duration past INT64_MAX: nothing is added.
  HistogramCollector c(Mixed(true));
  BlockCountsFn unknown = [](const Key&, const auto&) { return false; };
  EXPECT_FALSE(c.CanAddAggregates(durations, unknown));
  EXPECT_FALSE(c.AddAggregates(0, durations, unknown));
  std::vector<model::StoredSpan> huge = {testing::MakeSpan(1, 1, 0, uint64_t{1} << 63)};
  EXPECT_FALSE(c.AddAggregates(0, testing::AggregatesOf(huge), CountsOf(huge)));
  EXPECT_TRUE(c.AddAggregates(0, DurationAggregates(), CountsOf({})));
  HistogramResult result = std::move(c).Finish();
  ASSERT_EQ(result.size(), 4u);
  for (const Histogram& h : result) EXPECT_TRUE(h.buckets.empty()) << h.label;
}

}  // namespace
}  // namespace teletrace::query
