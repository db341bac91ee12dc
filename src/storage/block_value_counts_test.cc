#include "storage/block_value_counts.h"

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/golden_test_util.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"
#include "query/values.h"
#include "storage/zstd_frames.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using query::testing::K;
using query::testing::MakeSpan;
using query::testing::SetResource;
using query::testing::SetScope;

std::string Build(const std::vector<model::StoredSpan>& spans) {
  BlockValueCountsBuilder builder;
  for (const model::StoredSpan& s : spans) builder.Add(s);
  return std::move(builder).Finish();
}

// The spans' groups, serialized; empty when they keep none.
std::string BuildGroups(const std::vector<model::StoredSpan>& spans) {
  BlockValueCountsBuilder builder;
  for (const model::StoredSpan& s : spans) builder.Add(s);
  absl::StatusOr<std::string> groups = builder.Groups();
  EXPECT_TRUE(groups.ok()) << groups.status();
  return groups.ok() ? *groups : std::string();
}

BlockValueCounts MustParse(const std::string& bytes) {
  absl::StatusOr<BlockValueCounts> counts = BlockValueCounts::Parse(bytes);
  EXPECT_TRUE(counts.ok()) << counts.status();
  return *std::move(counts);
}

// Spans that exercise what a count must agree with decoding on: shared and missing resources and
// scopes, a key repeated on one span, arrays and bytes, 5 against 5.0, NaN and -0.0.
std::vector<model::StoredSpan> MixedSpans() {
  std::vector<model::StoredSpan> spans;
  for (uint8_t i = 0; i < 12; ++i) {
    model::StoredSpan s = MakeSpan(1, i + 1, 100 + i);
    s.span.name = i % 3 == 0 ? "GET /orders" : "SELECT";
    s.span.kind = i % 2 == 0 ? model::SpanKind::kServer : model::SpanKind::kClient;
    s.span.status.code = i == 5 ? model::StatusCode::kError : model::StatusCode::kUnset;
    s.span.attributes = {
        {"http.method", AnyValue(i % 4 == 0 ? "POST" : "GET")},
        {"code", i % 2 == 0 ? AnyValue(int64_t{5}) : AnyValue(5.0)},
        {"zero", i % 3 == 0 ? AnyValue(-0.0) : AnyValue(0.0)},
        {"nan", AnyValue(i % 2 == 0 ? std::nan("") : -std::nan(""))},
        {"tags", AnyValue(model::ArrayValue{AnyValue("blue")})},
        {"blob", AnyValue(model::Bytes{"raw"})},
    };
    if (i == 7) s.span.attributes.push_back({"http.method", AnyValue("PUT")});  // last one wins
    if (i == 4) s.span.attributes.push_back({"flag", AnyValue(true)});
    spans.push_back(std::move(s));
  }
  // Two resources shared by several spans each, and spans without a resource or scope.
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i < 6) {
      SetResource(spans[i], {{"service.name", AnyValue("checkout")}});
      SetScope(spans[i], "io.opentelemetry.http", "1.0", {{"scope.flag", AnyValue(true)}});
    } else if (i < 10) {
      SetResource(spans[i], {{"service.name", AnyValue("cart")},
                             {"process.pid", AnyValue(int64_t{42})}});
      SetScope(spans[i], "db", "", {});
    }
  }
  for (size_t i = 1; i < 6; ++i) spans[i].resource = spans[0].resource;
  for (size_t i = 1; i < 6; ++i) spans[i].scope = spans[0].scope;
  for (size_t i = 7; i < 10; ++i) spans[i].resource = spans[6].resource;
  spans[10].resource = nullptr;
  spans[11].scope = nullptr;
  return spans;
}

// The collector's answer from decoding `spans` and from their counts must be identical.
void ExpectCountsMatchDecoding(const std::vector<model::StoredSpan>& spans,
                               const std::string& key_text) {
  query::TagValuesQuery q;
  q.key = K(key_text);
  query::TagValuesCollector decoded(q);
  for (const model::StoredSpan& s : spans) decoded.Add(s);
  query::TagValuesCollector counted(q);
  BlockValueCounts counts = MustParse(Build(spans));
  ASSERT_TRUE(counts.ForEachCount(q.key, [&](const query::TagValue& v, uint64_t n) {
    counted.AddCounted(v, n);
  })) << key_text;
  query::TagValuesResult want = std::move(decoded).Finish();
  query::TagValuesResult got = std::move(counted).Finish();
  EXPECT_EQ(got.total_distinct, want.total_distinct) << key_text;
  ASSERT_EQ(got.values.size(), want.values.size()) << key_text;
  for (size_t i = 0; i < want.values.size(); ++i) {
    EXPECT_EQ(got.values[i].count, want.values[i].count) << key_text << " #" << i;
    // Bitwise, so -0.0 against 0.0 and NaN payloads are checked too.
    EXPECT_EQ(fmt::format("{}", std::visit([](const auto& v) { return fmt::format("{}", v); },
                                           got.values[i].value)),
              fmt::format("{}", std::visit([](const auto& v) { return fmt::format("{}", v); },
                                           want.values[i].value)))
        << key_text << " #" << i;
    EXPECT_EQ(got.values[i].value.index(), want.values[i].value.index()) << key_text << " #" << i;
  }
}

TEST(BlockValueCountsTest, CountsEqualDecodingForEveryCountedKey) {
  std::vector<model::StoredSpan> spans = MixedSpans();
  for (const char* key :
       {"resource.attributes.service.name", "resource.attributes.process.pid",
        "scope.attributes.scope.flag", "span.attributes.http.method", "span.attributes.code",
        "span.attributes.zero", "span.attributes.nan", "span.attributes.tags",
        "span.attributes.blob", "span.attributes.flag", "span.attributes.absent", "span.name",
        "span.kind", "span.status.code", "scope.name"}) {
    ExpectCountsMatchDecoding(spans, key);
  }
}

TEST(BlockValueCountsTest, CountsSpansPerValue) {
  BlockValueCounts counts = MustParse(Build(MixedSpans()));
  std::vector<std::pair<query::TagValue, uint64_t>> got;
  auto collect = [&](const query::TagValue& v, uint64_t n) { got.emplace_back(v, n); };
  ASSERT_TRUE(counts.ForEachCount(K("resource.attributes.service.name"), collect));
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{
                     {std::string("checkout"), 6}, {std::string("cart"), 4}}));
  got.clear();
  ASSERT_TRUE(counts.ForEachCount(K("span.attributes.http.method"), collect));
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{
                     {std::string("POST"), 3}, {std::string("GET"), 8}, {std::string("PUT"), 1}}));
  got.clear();
  ASSERT_TRUE(counts.ForEachCount(K("scope.name"), collect));
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{
                     {std::string("io.opentelemetry.http"), 6}, {std::string("db"), 4},
                     {std::string(""), 2}}));  // MakeSpan's scope and no scope both read ""
  got.clear();
  // Arrays and bytes count nothing, absent keys neither: covered, with no values.
  EXPECT_TRUE(counts.ForEachCount(K("span.attributes.tags"), collect));
  EXPECT_TRUE(counts.ForEachCount(K("span.attributes.absent"), collect));
  EXPECT_TRUE(got.empty());
  // Keys the counts do not cover must be decoded.
  EXPECT_FALSE(counts.ForEachCount(K("span.events.name"), collect));
  EXPECT_FALSE(counts.ForEachCount(K("span.traceId"), collect));
  EXPECT_FALSE(counts.ForEachCount(K("scope.version"), collect));
  EXPECT_FALSE(counts.ForEachCount(K("span.events.attributes.exception.type"), collect));
  EXPECT_TRUE(got.empty());
}

TEST(BlockValueCountsTest, KeysOverTheLimitAreNotCounted) {
  std::vector<model::StoredSpan> spans;
  for (uint8_t i = 0; i < 65; ++i) {
    model::StoredSpan s = MakeSpan(1, i + 1, 100);
    s.span.attributes = {{"user.id", AnyValue(int64_t{i})},
                         {"shard", AnyValue(int64_t{i % 64})}};
    spans.push_back(std::move(s));
  }
  BlockValueCounts counts = MustParse(Build(spans));
  size_t calls = 0;
  auto count = [&](const query::TagValue&, uint64_t) { ++calls; };
  EXPECT_FALSE(counts.ForEachCount(K("span.attributes.user.id"), count));
  EXPECT_EQ(calls, 0u);
  EXPECT_TRUE(counts.ForEachCount(K("span.attributes.shard"), count));
  EXPECT_EQ(calls, 64u);
  ExpectCountsMatchDecoding(spans, "span.attributes.shard");
}

TEST(BlockValueCountsTest, ExtremeValuesRoundTrip) {
  model::StoredSpan s = MakeSpan(1, 1, 100);
  s.span.attributes = {{"min", AnyValue(std::numeric_limits<int64_t>::min())},
                       {"max", AnyValue(std::numeric_limits<int64_t>::max())},
                       {"neg", AnyValue(int64_t{-1})},
                       {"inf", AnyValue(-std::numeric_limits<double>::infinity())},
                       {"empty", AnyValue("")},
                       {"f", AnyValue(false)}};
  BlockValueCounts counts = MustParse(Build({s}));
  EXPECT_EQ(counts.KeyCount(), 10u);  // 6 attributes, 4 intrinsics
  for (const char* key : {"span.attributes.min", "span.attributes.max", "span.attributes.neg",
                          "span.attributes.inf", "span.attributes.empty", "span.attributes.f"}) {
    ExpectCountsMatchDecoding({s}, key);
  }
}

TEST(BlockValueCountsTest, KeepsEveryDurationOfTheBlock) {
  std::vector<model::StoredSpan> spans = MixedSpans();
  std::vector<double> values;
  unsigned __int128 sum = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const uint64_t duration = i == 3 ? 0 : (uint64_t{1} << 62) + i * 1000;
    spans[i].span.end_time_unix_nano = spans[i].span.start_time_unix_nano + duration;
    values.push_back(static_cast<double>(duration));
    sum += duration;
  }
  absl::StatusOr<query::DurationAggregates> read = MustParse(Build(spans)).Durations();
  ASSERT_TRUE(read.ok()) << read.status();
  const query::DurationAggregates& d = *read;
  EXPECT_EQ(d.count, 12u);
  EXPECT_EQ(d.min, 0u);
  EXPECT_EQ(d.max, (uint64_t{1} << 62) + 11000);
  EXPECT_TRUE(d.sum == sum);  // past 2^64: the high half is kept
  EXPECT_GT(static_cast<uint64_t>(d.sum >> 64), 0u);
  query::DurationSketch want;
  want.Add(values);
  EXPECT_EQ(d.sketch, want);
}

TEST(BlockValueCountsTest, AnEmptyBlockHasEmptyAggregates) {
  absl::StatusOr<query::DurationAggregates> read = MustParse(Build({})).Durations();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, query::DurationAggregates());
}

TEST(BlockValueCountsTest, FormatOneIsStillReadWithoutDurations) {
  // What the format-1 builder wrote for one span with http.method = "GET" and nothing else.
  const std::string v1("\x01\x01" "a\x0bhttp.method\x01\x00\x03GET\x01", 22);
  BlockValueCounts counts = MustParse(v1);
  EXPECT_EQ(counts.Durations().status(),
            absl::NotFoundError("block value counts: format 1 keeps no duration aggregates"));
  std::vector<std::pair<query::TagValue, uint64_t>> got;
  ASSERT_TRUE(counts.ForEachCount(K("span.attributes.http.method"),
                                  [&](const query::TagValue& v, uint64_t n) {
                                    got.emplace_back(v, n);
                                  }));
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{{std::string("GET"), 1}}));
}

TEST(BlockValueCountsTest, ShortCountsKeepTheirKeysWhenMoved) {
  // 9 bytes: one span attribute "k" with one value, true, on one span. Short enough to live inside
  // a std::string, which a move relocates.
  const std::string bytes("\x01\x01" "a\x01k\x01\x03\x01\x01", 9);
  absl::StatusOr<BlockValueCounts> parsed = BlockValueCounts::Parse(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  BlockValueCounts moved = *std::move(parsed);
  std::vector<BlockValueCounts> elsewhere;
  elsewhere.push_back(std::move(moved));
  std::vector<std::pair<query::TagValue, uint64_t>> got;
  ASSERT_TRUE(elsewhere[0].ForEachCount(K("span.attributes.k"),
                                        [&](const query::TagValue& v, uint64_t n) {
                                          got.emplace_back(v, n);
                                        }));
  EXPECT_EQ(got, (std::vector<std::pair<query::TagValue, uint64_t>>{{true, 1}}));
}

auto KeepAll = [](const model::StoredSpan&) { return true; };

TEST(BlockValueCountsTest, EveryTruncationIsDataLoss) {
  std::string bytes = Build(MixedSpans());
  size_t counts_whole = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<BlockValueCounts> counts = BlockValueCounts::Parse(bytes.substr(0, n));
    if (counts.ok()) {
      // Cut inside the duration aggregates: the keys are whole, the aggregates are not.
      ++counts_whole;
      EXPECT_EQ(counts->Durations().status().code(), absl::StatusCode::kDataLoss) << n;
    } else {
      EXPECT_EQ(counts.status().code(), absl::StatusCode::kDataLoss) << n;
    }
  }
  EXPECT_GT(counts_whole, 5u);  // the aggregates: five varints and a sketch
  const std::string groups = BuildGroups(MixedSpans());
  ASSERT_TRUE(BlockValueCounts::FromGroups(groups, KeepAll).ok());
  for (size_t n = 0; n < groups.size(); ++n) {
    EXPECT_EQ(BlockValueCounts::FromGroups(groups.substr(0, n), KeepAll).status().code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
}

// Bytes and the DataLoss message they must get.
struct Malformed {
  std::string bytes;
  std::string message;
};

TEST(BlockValueCountsTest, MalformedInputIsDataLossNamingTheProblem) {
  const std::vector<Malformed> cases = {
      {"", "block value counts: empty"},
      {std::string("\x03\x00", 2), "block value counts: unknown format version 3"},

      {std::string("\x01\x00\x00", 3), "block value counts: trailing bytes"},
      {std::string("\x01\x05", 2), "block value counts: 5 keys in 2 bytes"},
      {std::string("\x01\x01x\x00\x00", 5), "block value counts: key 0 has unknown level 120"},
      {std::string("\x01\x02" "a\x01k\x00" "a\x01k\x00", 10),
       "block value counts: key 1 out of order"},
      {std::string("\x01\x01" "a\x01k\x41", 6),
       "block value counts: key 0 has 65 values, more than 64"},
      {std::string("\x01\x01" "a\x01k\x01\x03\x01\x00", 9),
       "block value counts: key 0 value 0 counts no span"},
      {std::string("\x01\x01" "a\x01k\x01\x03\x02\x01", 9),
       "block value counts: key 0 value 0 is malformed"},
      {std::string("\x01\x01" "a\x01k\x01\x07\x01", 8),
       "block value counts: key 0 value 0 is malformed"},
      {std::string("\x01\x01" "a\x01k\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x01", 17),
       "block value counts: key 0 value 0 is malformed"},
  };
  for (const Malformed& c : cases) {
    absl::StatusOr<BlockValueCounts> counts = BlockValueCounts::Parse(c.bytes);
    EXPECT_EQ(counts.status(), absl::DataLossError(c.message));
  }
}

TEST(BlockValueCountsTest, MalformedDurationsAreDataLossNamingTheProblem) {
  const std::vector<Malformed> cases = {
      {std::string("\x02\x00", 2), "block value counts: truncated duration aggregates"},
      // Version 2, no keys, then count, min, max, sum (low, high) and the sketch. 5 ns is in
      // sketch bucket 82.
      {std::string("\x02\x00" "\x01\x05\x05\x05\x00" "\x00", 8),
       "block value counts: the duration sketch holds 0 of 1 spans"},
      {std::string("\x02\x00" "\x00\x00\x00\x00\x00" "\x01\x00\x01", 10),
       "block value counts: the duration sketch holds 1 of 0 spans"},
      {std::string("\x02\x00" "\x00\x01\x00\x00\x00" "\x00", 8),
       "block value counts: inconsistent duration aggregates"},
      {std::string("\x02\x00" "\x02\x05\x03\x08\x00" "\x01\x52\x02", 10),
       "block value counts: inconsistent duration aggregates"},
      {std::string("\x02\x00" "\x02\x05\x05\x0b\x00" "\x01\x52\x02", 10),
       "block value counts: inconsistent duration aggregates"},
      {std::string("\x02\x00" "\x02\x05\x05\x0a\x00" "\x01\x52\x00", 10),
       "block value counts: duration sketch: bucket 0 counts nothing"},
      {std::string("\x02\x00" "\x02\x05\x05\x0a\x00" "\x01\x52\x02\x00", 11),
       "block value counts: trailing bytes"},
  };
  for (const Malformed& c : cases) {
    BlockValueCounts counts = MustParse(c.bytes);  // the keys (none) are fine
    EXPECT_EQ(counts.Durations().status(), absl::DataLossError(c.message)) << c.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Groups: a subset's counts and aggregates are those of a block of the kept spans alone.

using query::testing::F;
using query::testing::S;
using Counted = std::vector<std::pair<query::TagValue, uint64_t>>;

Counted CountsOf(const BlockValueCounts& counts, const query::Key& key, bool* answered) {
  Counted got;
  *answered = counts.ForEachCount(key, [&](const query::TagValue& v, uint64_t n) {
    got.emplace_back(v, n);
  });
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) {
    return query::CompareTagValues(a.first, b.first) < 0;
  });
  return got;
}

TEST(BlockValueCountsTest, SubsetsCountAsTheKeptSpansAlone) {
  std::mt19937_64 rng(20261206);
  const char* services[] = {"cart", "checkout", "payment"};
  const char* names[] = {"GET /", "POST /pay", "SELECT", ""};
  const std::vector<query::Filter> filters = {
      F("resource.attributes.service.name", query::Operator::kEquals, S("cart")),
      F("resource.attributes.service.name", query::Operator::kIn, std::nullopt,
        {S("cart"), S("payment")}),
      F("resource.attributes.service.name", query::Operator::kNotEquals, S("checkout")),
      F("resource.attributes.service.name", query::Operator::kExists),
      F("resource.attributes.service.name", query::Operator::kContains, S("c")),
      F("span.status.code", query::Operator::kEquals, S("Error")),
      F("span.status.code", query::Operator::kNotEquals, S("Unset")),
      F("span.kind", query::Operator::kEquals, S("Server")),
      F("span.kind", query::Operator::kIn, std::nullopt, {S("Server"), S("Consumer")}),
      F("span.kind", query::Operator::kNotEquals, S("Internal")),
  };
  const query::Key keys[] = {K("resource.attributes.service.name"), K("span.status.code"),
                             K("span.kind")};
  size_t kept_none = 0, kept_some = 0, kept_all = 0;
  for (int round = 0; round < 300; ++round) {
    // Resources: without service.name, with one, with it twice (the last one counts), none.
    std::vector<std::shared_ptr<const model::Resource>> resources;
    for (int r = 0; r < 4; ++r) {
      auto res = std::make_shared<model::Resource>();
      res->attributes.push_back({"host", AnyValue("h" + std::to_string(r))});
      if (r > 0) res->attributes.push_back({"service.name", AnyValue(services[rng() % 3])});
      if (r == 3) res->attributes.push_back({"service.name", AnyValue(services[rng() % 3])});
      resources.push_back(std::move(res));
    }
    resources.push_back(nullptr);
    std::vector<model::StoredSpan> spans;
    const size_t n = 1 + rng() % 60;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t duration = rng() % 4 == 0 ? 0 : rng() % (uint64_t{1} << (rng() % 63));
      model::StoredSpan s = MakeSpan(1, static_cast<uint8_t>(i), 1000, duration);
      s.resource = resources[rng() % resources.size()];
      s.span.name = names[rng() % 4];
      s.span.kind = static_cast<model::SpanKind>(rng() % 6);
      s.span.status.code = static_cast<model::StatusCode>(rng() % 3);
      spans.push_back(std::move(s));
    }
    std::vector<query::Filter> chosen;
    for (const query::Filter& f : filters) {
      if (rng() % 4 == 0) chosen.push_back(f);
    }
    const query::SpanMatcher matcher(chosen);
    std::vector<model::StoredSpan> kept;
    for (const model::StoredSpan& s : spans) {
      if (matcher.Matches(s)) kept.push_back(s);
    }
    (kept.empty() ? kept_none : kept.size() == spans.size() ? kept_all : kept_some)++;
    const std::string what = fmt::format("round {}: {} of {} spans kept", round, kept.size(),
                                         spans.size());
    const std::string groups = BuildGroups(spans);
    ASSERT_FALSE(groups.empty()) << what;
    absl::StatusOr<BlockValueCounts> subset =
        BlockValueCounts::FromGroups(groups, [&](const model::StoredSpan& s) {
          return matcher.Matches(s);
        });
    ASSERT_TRUE(subset.ok()) << subset.status() << what;
    const BlockValueCounts alone = MustParse(Build(kept));
    EXPECT_EQ(subset->SpanCount(), kept.size()) << what;
    absl::StatusOr<query::DurationAggregates> got = subset->Durations();
    ASSERT_TRUE(got.ok()) << got.status() << what;
    EXPECT_EQ(*got, query::testing::AggregatesOf(kept)) << what;
    for (const query::Key& key : keys) {
      bool got_answered = false, want_answered = false;
      Counted got_counts = CountsOf(*subset, key, &got_answered);
      Counted want_counts = CountsOf(alone, key, &want_answered);
      EXPECT_TRUE(got_answered) << key.text << " " << what;
      EXPECT_TRUE(want_answered) << key.text << " " << what;
      EXPECT_EQ(got_counts, want_counts) << key.text << " " << what;
      // Per value, the kept spans' duration aggregates, as the spans carrying it alone give.
      std::vector<std::pair<query::TagValue, std::vector<model::StoredSpan>>> by_value;
      for (const model::StoredSpan& s : kept) {
        query::TagValuesCollector::ForEachCountedValue(key, s, [&](const query::TagValue& v) {
          auto it = std::find_if(by_value.begin(), by_value.end(), [&v](const auto& e) {
            return query::CompareTagValues(e.first, v) == 0;
          });
          if (it == by_value.end()) it = by_value.insert(by_value.end(), {v, {}});
          it->second.push_back(s);
        });
      }
      std::vector<std::pair<query::TagValue, query::DurationAggregates>> want_durations,
          got_durations;
      for (const auto& [v, group] : by_value) {
        want_durations.emplace_back(v, query::testing::AggregatesOf(group));
      }
      EXPECT_TRUE(subset->ForEachGroupDurations(
          key, [&](const query::TagValue& v, const query::DurationAggregates& d) {
            // A value may come once per group: its parts add up.
            auto it = std::find_if(got_durations.begin(), got_durations.end(), [&v](auto& e) {
              return query::CompareTagValues(e.first, v) == 0;
            });
            if (it == got_durations.end()) {
              got_durations.emplace_back(v, d);
              return;
            }
            it->second.count += d.count;
            it->second.min = std::min(it->second.min, d.min);
            it->second.max = std::max(it->second.max, d.max);
            it->second.sum += d.sum;
            it->second.sketch.Merge(d.sketch);
          }))
          << key.text << " " << what;
      EXPECT_EQ(got_durations, want_durations) << key.text << " " << what;
    }
    // Read without sketches: the same counts and aggregates, no sketch, no durations per value.
    absl::StatusOr<BlockValueCounts> lean = BlockValueCounts::FromGroups(
        groups, [&](const model::StoredSpan& s) { return matcher.Matches(s); },
        {/*keep_reads_kind=*/false, /*sketches=*/false});
    ASSERT_TRUE(lean.ok()) << lean.status() << what;
    absl::StatusOr<query::DurationAggregates> lean_durations = lean->Durations();
    ASSERT_TRUE(lean_durations.ok()) << what;
    query::DurationAggregates want_lean = query::testing::AggregatesOf(kept);
    want_lean.sketch = query::DurationSketch();
    EXPECT_EQ(*lean_durations, want_lean) << what;
    for (const query::Key& key : keys) {
      bool answered = false;
      EXPECT_EQ(CountsOf(*lean, key, &answered), CountsOf(alone, key, &answered)) << what;
      EXPECT_FALSE(lean->ForEachGroupDurations(key, [](const auto&, const auto&) {})) << what;
    }
    // Keys other than the groups' are unknown to a subset, though the block carries them.
    for (const char* other : {"resource.attributes.host", "span.name"}) {
      bool answered = true;
      CountsOf(*subset, K(other), &answered);
      EXPECT_FALSE(answered) << other << " " << what;
      EXPECT_FALSE(subset->ForEachGroupDurations(K(other), [](const auto&, const auto&) {}))
          << other << " " << what;
    }
    // A block's own counts hold no durations per value.
    EXPECT_FALSE(MustParse(Build(spans)).ForEachGroupDurations(
        K("resource.attributes.service.name"), [](const auto&, const auto&) {}));
  }
  EXPECT_GT(kept_none, 10u);
  EXPECT_GT(kept_some, 50u);
  EXPECT_GT(kept_all, 10u);
}

TEST(BlockValueCountsTest, SomeBlocksKeepNoGroups) {
  // A service.name that is not a string: a filter on it compares numbers.
  std::vector<model::StoredSpan> spans = MixedSpans();
  EXPECT_FALSE(BuildGroups(spans).empty());
  SetResource(spans[11], {{"service.name", AnyValue(int64_t{7})}});
  EXPECT_TRUE(BuildGroups(spans).empty());
  // More groups than kMaxGroups: one service per span.
  spans.clear();
  for (size_t i = 0; i <= kMaxGroups; ++i) {
    spans.push_back(MakeSpan(1, 1, 1000));
    SetResource(spans.back(), {{"service.name", AnyValue(fmt::format("svc-{}", i))}});
  }
  EXPECT_TRUE(BuildGroups(spans).empty());
  spans.pop_back();  // exactly kMaxGroups: kept
  absl::StatusOr<BlockValueCounts> subset =
      BlockValueCounts::FromGroups(BuildGroups(spans), KeepAll);
  ASSERT_TRUE(subset.ok()) << subset.status();
  EXPECT_EQ(subset->SpanCount(), kMaxGroups);
  EXPECT_TRUE(BuildGroups({}).empty());
}

// The spans of service `catalog` counts kept, from their durations by service (which must name
// that service alone).
uint64_t SpansWithDurationsOfCatalog(const BlockValueCounts& counts) {
  uint64_t spans = 0;
  EXPECT_TRUE(counts.ForEachGroupDurations(
      K("resource.attributes.service.name"),
      [&](const query::TagValue& v, const query::DurationAggregates& d) {
        EXPECT_EQ(v, query::TagValue(std::string("catalog")));
        spans += d.count;
      }));
  return spans;
}

// tests/fixtures/blocks/groups_v1.bin: the groups of a block of the benchmark store (832 spans of
// 10 services in 20 groups), pinned so that groups written by released versions stay readable. It
// is also the fuzzer's seed.
TEST(BlockValueCountsTest, FixtureGroupsStillRead) {
  const std::optional<std::string> fixture = golden::ReadFixture("blocks/groups_v1.bin");
  if (!fixture) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  const std::string& groups = *fixture;
  absl::StatusOr<BlockValueCounts> all = BlockValueCounts::FromGroups(groups, KeepAll);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->SpanCount(), 832u);
  const query::SpanMatcher catalog(
      {F("resource.attributes.service.name", query::Operator::kEquals, S("catalog"))});
  absl::StatusOr<BlockValueCounts> kept = BlockValueCounts::FromGroups(
      groups, [&](const model::StoredSpan& s) { return catalog.Matches(s); });
  ASSERT_TRUE(kept.ok()) << kept.status();
  absl::StatusOr<query::DurationAggregates> d = kept->Durations();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->count, 92u);
  EXPECT_EQ(d->min, 1838u);
  EXPECT_EQ(d->max, 624560749u);
  bool answered = false;
  EXPECT_EQ(CountsOf(*kept, K("span.status.code"), &answered),
            (Counted{{std::string("Error"), 5}, {std::string("Unset"), 87}}));
  EXPECT_TRUE(answered);
  // Format 1 grouped no kinds: not counted, no durations by kind, and a filter on it refused.
  EXPECT_TRUE(CountsOf(*kept, K("span.kind"), &answered).empty());
  EXPECT_FALSE(answered);
  EXPECT_FALSE(kept->ForEachGroupDurations(K("span.kind"), [](const auto&, const auto&) {}));
  EXPECT_EQ(SpansWithDurationsOfCatalog(*kept), 92u);
  EXPECT_EQ(BlockValueCounts::FromGroups(groups, KeepAll, {/*keep_reads_kind=*/true}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// tests/fixtures/blocks/groups_v2.bin: the groups of format 2 of a block of the benchmark store,
// by (service, status code, span kind), pinned likewise.
TEST(BlockValueCountsTest, FixtureGroupsOfFormatTwoStillRead) {
  const std::optional<std::string> fixture = golden::ReadFixture("blocks/groups_v2.bin");
  if (!fixture) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  const std::string& groups = *fixture;
  ASSERT_FALSE(groups.empty());
  ASSERT_EQ(groups[0], 2);
  absl::StatusOr<BlockValueCounts> all = BlockValueCounts::FromGroups(groups, KeepAll);
  ASSERT_TRUE(all.ok()) << all.status();
  bool answered = false;
  const Counted kinds = CountsOf(*all, K("span.kind"), &answered);
  EXPECT_TRUE(answered);
  uint64_t spans = 0;
  for (const auto& [kind, n] : kinds) spans += n;
  EXPECT_EQ(spans, all->SpanCount());
  // Requests (server and consumer spans) of one service, as the services overview asks.
  const query::SpanMatcher requests(
      {F("resource.attributes.service.name", query::Operator::kEquals, S("catalog")),
       F("span.kind", query::Operator::kIn, std::nullopt, {S("Server"), S("Consumer")})});
  absl::StatusOr<BlockValueCounts> kept = BlockValueCounts::FromGroups(
      groups, [&](const model::StoredSpan& s) { return requests.Matches(s); },
      {/*keep_reads_kind=*/true});
  ASSERT_TRUE(kept.ok()) << kept.status();
  absl::StatusOr<query::DurationAggregates> d = kept->Durations();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(SpansWithDurationsOfCatalog(*kept), d->count);
  // Pinned: what the block held when written.
  EXPECT_EQ(all->SpanCount(), 1024u);
  EXPECT_EQ(kinds, (Counted{{std::string("Client"), 280},
                            {std::string("Internal"), 298},
                            {std::string("Server"), 446}}));
  EXPECT_EQ(d->count, 49u);
  EXPECT_EQ(d->min, 48042u);
  EXPECT_EQ(d->max, 349569339u);
}

// A string literal's bytes, NULs included.
template <size_t N>
std::string Bin(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// Groups of format `version` holding `plain`.
std::string Groups(const std::string& plain, char version = 1) {
  absl::StatusOr<std::string> frame = ZstdCompress(plain, 3, "test");
  EXPECT_TRUE(frame.ok());
  return std::string(1, version) + *frame;
}

TEST(BlockValueCountsTest, MalformedGroupsAreDataLossNamingTheProblem) {
  // One span, one service "a"; the 8 bytes of the aggregates of one 5 ns span (count, min, max,
  // sum low and high, then the sketch: one bucket, 82, once).
  const std::string head = Bin("\x01" "\x01\x01" "a");
  const std::string span5 = Bin("\x01\x05\x05\x05\x00" "\x01\x52\x01");
  const std::vector<Malformed> cases = {
      {"", "block value counts: empty groups"},
      {Bin("\x03\x00"), "block value counts: unknown groups format version 3"},
      {Bin("\x01\x00"), "block value counts: groups: zstd: Unknown frame descriptor"},
      {Groups(""), "block value counts: truncated group span count"},
      {Groups(Bin("\x01\x05" "a")), "block value counts: truncated group services"},
      {Groups(head), "block value counts: truncated group count"},
      {Groups(head + Bin("\x00")), "block value counts: 0 groups, not 1 to 256"},
      {Groups(head + Bin("\x81\x02")), "block value counts: 257 groups, not 1 to 256"},
      {Groups(head + Bin("\x01\x00")), "block value counts: truncated group 0"},
      {Groups(head + Bin("\x01\x02\x00") + span5),
       "block value counts: group 0 names service 2 of 1"},
      {Groups(head + Bin("\x01\x00\x03") + span5),
       "block value counts: group 0 has status code 3"},
      {Groups(head + Bin("\x01\x00\x00" "\x00\x00\x00\x00\x00\x00")),
       "block value counts: group 0 holds no span"},
      {Groups(head + Bin("\x01\x00\x00" "\x01\x05\x05\x05\x00\x00")),
       "block value counts: the duration sketch holds 0 of 1 spans"},
      {Groups(head + Bin("\x01\x00\x00") + span5 + Bin("\x00")),
       "block value counts: trailing bytes after the groups"},
      {Groups(head + Bin("\x02\x00\x00") + span5 + Bin("\x01\x00") + span5),
       "block value counts: the groups hold 2 of 1 spans"},
  };
  // Format 2: a kind byte after the status code, sketches in their compact form (82 << 1 | 1).
  const std::string span5c = Bin("\x01\x05\x05\x05\x00" "\x01\xa5\x01");
  const std::vector<Malformed> cases2 = {
      {Groups(head + Bin("\x01\x01\x02"), 2), "block value counts: truncated group 0"},
      {Groups(head + Bin("\x01\x01\x02\x06") + span5c, 2),
       "block value counts: group 0 has span kind 6"},
      {Groups(head + Bin("\x01\x01\x02\x02" "\x01\x05\x05\x05\x00" "\x01\xa4\x01\x01"), 2),
       "block value counts: duration sketch: bucket 0 counts one span without the flag"},
      {Groups(head + Bin("\x01\x01\x02\x02" "\x01\x05\x05\x05\x00" "\x01\xa4\x01"), 2),
       "block value counts: duration sketch: truncated bucket 0"},
      {Groups(head + Bin("\x01\x01\x02\x02") + span5c + Bin("\x00"), 2),
       "block value counts: trailing bytes after the groups"},
  };
  for (const std::vector<Malformed>* all : {&cases, &cases2}) {
    for (const Malformed& c : *all) {
      EXPECT_EQ(BlockValueCounts::FromGroups(c.bytes, KeepAll).status(),
                absl::DataLossError(c.message))
          << c.message;
    }
  }
  // The well-formed one of format 2: one group of service "a", Error, Server.
  absl::StatusOr<BlockValueCounts> server =
      BlockValueCounts::FromGroups(Groups(head + Bin("\x01\x01\x02\x02") + span5c, 2), KeepAll);
  ASSERT_TRUE(server.ok()) << server.status();
  bool kind_answered = false;
  EXPECT_EQ(CountsOf(*server, K("span.kind"), &kind_answered),
            (Counted{{std::string("Server"), 1}}));
  EXPECT_TRUE(kind_answered);
  // The well-formed one of format 1: one group of service "a", Error.
  absl::StatusOr<BlockValueCounts> subset =
      BlockValueCounts::FromGroups(Groups(head + Bin("\x01\x01\x02") + span5), KeepAll);
  ASSERT_TRUE(subset.ok()) << subset.status();
  bool answered = false;
  EXPECT_EQ(CountsOf(*subset, K("span.status.code"), &answered),
            (Counted{{std::string("Error"), 1}}));
  EXPECT_EQ(CountsOf(*subset, K("resource.attributes.service.name"), &answered),
            (Counted{{std::string("a"), 1}}));
  // Format 1 holds no kinds: the kind is not counted, and a filter on it is refused.
  EXPECT_TRUE(CountsOf(*subset, K("span.kind"), &answered).empty());
  EXPECT_FALSE(answered);
  EXPECT_EQ(BlockValueCounts::FromGroups(Groups(head + Bin("\x01\x01\x02") + span5), KeepAll,
                                         {/*keep_reads_kind=*/true})
                .status(),
            absl::FailedPreconditionError(
                "block value counts: groups of format 1 hold no span kinds"));
}

}  // namespace
}  // namespace teletrace::storage
