#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using model::ArrayValue;
using testing::F;
using testing::K;
using testing::MakeSpan;
using testing::S;

model::StoredSpan WithAttrs(uint8_t id, uint64_t start, model::KeyValueList attrs,
                            std::string service = "api") {
  model::StoredSpan s = MakeSpan(1, id, start);
  s.span.attributes = std::move(attrs);
  testing::SetResource(s, {{"service.name", std::move(service)}});
  return s;
}

TagValuesResult Collect(const TagValuesQuery& q, const std::vector<model::StoredSpan>& spans) {
  TagValuesCollector c(q);
  for (const auto& s : spans) c.Add(s);
  return std::move(c).Finish();
}

TEST(TagValuesCollectorTest, CountsByValueThenOrdersByCount) {
  TagValuesQuery q;
  q.key = K("span.attributes.http.method");
  TagValuesResult r = Collect(q, {WithAttrs(1, 10, {{"http.method", "GET"}}),
                                  WithAttrs(2, 20, {{"http.method", "POST"}}),
                                  WithAttrs(3, 30, {{"http.method", "GET"}}),
                                  WithAttrs(4, 40, {{"http.method", ArrayValue{"GET"}}}),
                                  WithAttrs(5, 50, {{"other", "GET"}}),
                                  WithAttrs(6, 60, {{"http.method", "DELETE"}}),
                                  WithAttrs(7, 70, {{"http.method", "GET"}})});
  EXPECT_EQ(r.values, (std::vector<TagValueCount>{
                          {std::string("GET"), 3}, {std::string("DELETE"), 1},
                          {std::string("POST"), 1}}));
  EXPECT_EQ(r.total_distinct, 3u);
}

TEST(TagValuesCollectorTest, MixedTypesOrderAndLimit) {
  TagValuesQuery q;
  q.key = K("span.attributes.v");
  std::vector<model::StoredSpan> spans = {
      WithAttrs(1, 1, {{"v", true}}),   WithAttrs(2, 2, {{"v", 5}}),
      WithAttrs(3, 3, {{"v", 5.0}}),    WithAttrs(4, 4, {{"v", 2}}),
      WithAttrs(5, 5, {{"v", "a"}}),    WithAttrs(6, 6, {{"v", "a"}}),
      WithAttrs(7, 7, {{"v", "b"}}),    WithAttrs(8, 8, {{"v", false}}),
      WithAttrs(9, 9, {{"v", 10.5}}),   WithAttrs(10, 10, {{"v", model::Bytes{"a"}}}),
      WithAttrs(11, 11, {{"v", "10"}}),
  };
  TagValuesResult all = Collect(q, spans);
  EXPECT_EQ(all.values, (std::vector<TagValueCount>{
                            {std::string("a"), 2},
                            {false, 1},
                            {true, 1},
                            {int64_t{2}, 1},
                            {int64_t{5}, 1},
                            {5.0, 1},
                            {10.5, 1},
                            {std::string("10"), 1},
                            {std::string("b"), 1},
                        }));
  EXPECT_EQ(all.total_distinct, 9u);
  q.limit = 3;
  TagValuesResult limited = Collect(q, spans);
  EXPECT_EQ(limited.values, (std::vector<TagValueCount>{
                                {std::string("a"), 2}, {false, 1}, {true, 1}}));
  EXPECT_EQ(limited.total_distinct, 9u);
}

// Parts counted apart (a backend's blocks on worker threads) and added in order give what one
// collector fed every span gives, including which of two equal values (-0.0 and 0.0) is reported:
// the first added.
TEST(TagValuesCollectorTest, PartsAddedInOrderEqualOneCollector) {
  TagValuesQuery q;
  q.key = K("span.attributes.v");
  const std::vector<model::StoredSpan> first = {WithAttrs(1, 1, {{"v", -0.0}}),
                                                WithAttrs(2, 2, {{"v", "a"}}),
                                                WithAttrs(3, 3, {{"v", 5}})};
  const std::vector<model::StoredSpan> second = {WithAttrs(4, 4, {{"v", 0.0}}),
                                                 WithAttrs(5, 5, {{"v", "a"}}),
                                                 WithAttrs(6, 6, {{"v", 5.0}}),
                                                 WithAttrs(7, 7, {{"v", "b"}})};
  TagValuesCollector whole(q), part1(q), part2(q);
  for (const auto& s : first) {
    whole.Add(s);
    part1.Add(s);
  }
  for (const auto& s : second) {
    whole.Add(s);
    part2.Add(s);
  }
  TagValuesCollector merged(q);
  merged.AddAll(part1);
  merged.AddAll(part2);
  TagValuesResult want = std::move(whole).Finish();
  TagValuesResult got = std::move(merged).Finish();
  EXPECT_EQ(got.values, (std::vector<TagValueCount>{{-0.0, 2},
                                                    {std::string("a"), 2},
                                                    {int64_t{5}, 1},
                                                    {5.0, 1},
                                                    {std::string("b"), 1}}));
  EXPECT_EQ(got.values, want.values);
  EXPECT_EQ(got.total_distinct, 5u);
  ASSERT_EQ(got.values.size(), 5u);
  EXPECT_TRUE(std::signbit(std::get<double>(got.values[0].value)));
}

// Distinct strings handed over at once (a backend's high-cardinality table) give the page and
// total that adding each gives, whether strings were counted before (then every one is added) or
// not (then only the page's are kept), with numbers around them and counts that tie.
TEST(TagValuesCollectorTest, DistinctStringsGiveWhatAddingEachGives) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    TagValuesQuery q;
    q.key = K("span.attributes.v");
    q.limit = rng() % 4 == 0 ? 0 : 1 + rng() % 30;
    std::vector<std::string> names;
    std::vector<std::pair<std::string_view, uint64_t>> strings;
    const size_t n = rng() % 80;
    for (size_t i = 0; i < n; ++i) names.push_back(fmt::format("u{}", rng() % 1000000));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const std::string& name : names) strings.emplace_back(name, rng() % 5);  // 0 adds none
    std::vector<std::pair<TagValue, uint64_t>> before;  // counted first
    for (int i = 0; i < 5; ++i) before.emplace_back(TagValue(int64_t(rng() % 4)), 1 + rng() % 4);
    if (round % 2 == 1 && !names.empty()) {
      before.emplace_back(TagValue(names[rng() % names.size()]), 1 + rng() % 4);
    }
    TagValuesCollector each(q), at_once(q);
    for (const auto& [value, count] : before) {
      each.AddCounted(value, count);
      at_once.AddCounted(value, count);
    }
    for (const auto& [string, count] : strings) {
      each.AddCounted(TagValue(std::string(string)), count);
    }
    at_once.AddDistinctStrings(strings);
    at_once.AddCounted(TagValue(true), 2);  // numbers and bools may follow
    each.AddCounted(TagValue(true), 2);
    TagValuesResult want = std::move(each).Finish();
    TagValuesResult got = std::move(at_once).Finish();
    EXPECT_EQ(got.values, want.values) << round;
    EXPECT_EQ(got.total_distinct, want.total_distinct) << round;
  }
}

TEST(TagValuesCollectorTest, AppliesRangeAndFilters) {
  TagValuesQuery q;
  q.key = K("span.attributes.http.method");
  q.range = TimeRange{15, 100};
  q.filters = {F("resource.attributes.service.name", Operator::kEquals, S("api"))};
  TagValuesResult r = Collect(q, {WithAttrs(1, 10, {{"http.method", "GET"}}),
                                  WithAttrs(2, 20, {{"http.method", "POST"}}),
                                  WithAttrs(3, 30, {{"http.method", "GET"}}, "web"),
                                  WithAttrs(4, 101, {{"http.method", "GET"}})});
  EXPECT_EQ(r.values, (std::vector<TagValueCount>{{std::string("POST"), 1}}));
  EXPECT_EQ(r.total_distinct, 1u);
}

TEST(TagValuesCollectorTest, EventValuesCountPerOccurrenceAndIntrinsicsUseApiForm) {
  model::StoredSpan s = MakeSpan(1, 1, 10);
  s.span.kind = model::SpanKind::kClient;
  s.span.events = {model::Event{1, "retry", {{"n", 3}}}, model::Event{2, "retry", {{"n", 3}}},
                   model::Event{3, "done", {}}};
  model::StoredSpan t = MakeSpan(1, 2, 20);
  t.span.kind = model::SpanKind::kServer;
  TagValuesQuery q;
  q.key = K("span.events.name");
  EXPECT_EQ(Collect(q, {s, t}).values,
            (std::vector<TagValueCount>{{std::string("retry"), 2}, {std::string("done"), 1}}));
  q.key = K("span.events.attributes.n");
  EXPECT_EQ(Collect(q, {s, t}).values, (std::vector<TagValueCount>{{int64_t{3}, 2}}));
  q.key = K("span.kind");
  EXPECT_EQ(Collect(q, {s, t, t}).values,
            (std::vector<TagValueCount>{{std::string("Server"), 2}, {std::string("Client"), 1}}));
  q.key = K("externalFields.durationNano");
  EXPECT_EQ(Collect(q, {s, t}).values, (std::vector<TagValueCount>{{int64_t{10}, 2}}));
}

}  // namespace
}  // namespace teletrace::query
