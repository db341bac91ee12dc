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

// The collector's page over `key` from decoding `kept` against the one from `counts`, whole and
// bitwise (so 0.0 against -0.0 and NaN payloads count); false when `counts` does not answer.
bool ExpectCountsAnswerAsDecoding(const BlockValueCounts& counts,
                                  const std::vector<model::StoredSpan>& kept,
                                  const query::Key& key, const std::string& what) {
  query::TagValuesQuery q;
  q.key = key;
  query::TagValuesCollector counted(q), decoded(q);
  if (!counts.ForEachCount(key, [&](const query::TagValue& v, uint64_t n) {
        counted.AddCounted(v, n);
      })) {
    return false;
  }
  for (const model::StoredSpan& s : kept) decoded.Add(s);
  const query::TagValuesResult got = std::move(counted).Finish();
  const query::TagValuesResult want = std::move(decoded).Finish();
  auto text = [](const query::TagValuesResult& r) {
    std::string out = fmt::format("{} distinct:", r.total_distinct);
    for (const query::TagValueCount& v : r.values) {
      out += fmt::format(" {}/{}={}", v.value.index(),
                         std::visit([](const auto& x) { return fmt::format("{}", x); }, v.value),
                         v.count);
    }
    return out;
  };
  EXPECT_EQ(text(got), text(want)) << what;
  return true;
}

// The collector's answer from decoding `spans` and from their counts must be identical.
void ExpectCountsMatchDecoding(const std::vector<model::StoredSpan>& spans,
                               const std::string& key_text) {
  EXPECT_TRUE(ExpectCountsAnswerAsDecoding(MustParse(Build(spans)), spans, K(key_text), key_text))
      << key_text;
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

// tests/fixtures/blocks/group_attributes_v1.bin: the group attributes of format 1 of a block of
// the benchmark store (its groups beside it, group_attributes_v1.groups), pinned likewise.
TEST(BlockValueCountsTest, FixtureGroupAttributesStillRead) {
  const std::optional<std::string> attributes =
      golden::ReadFixture("blocks/group_attributes_v1.bin");
  const std::optional<std::string> groups =
      golden::ReadFixture("blocks/group_attributes_v1.groups");
  if (!attributes || !groups) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  ASSERT_EQ((*attributes)[0], 1);
  auto counts = [&](const char* name, const char* service, bool* answered) {
    const query::SpanMatcher matcher(
        service == nullptr
            ? std::vector<query::Filter>{}
            : std::vector<query::Filter>{
                  F("resource.attributes.service.name", query::Operator::kEquals, S(service))});
    absl::StatusOr<BlockValueCounts> kept = BlockValueCounts::FromGroups(
        *groups, [&](const model::StoredSpan& s) { return matcher.Matches(s); },
        {/*keep_reads_kind=*/false, /*sketches=*/false, name, *attributes});
    EXPECT_TRUE(kept.ok()) << kept.status();
    return kept.ok() ? CountsOf(*kept, K(std::string("span.attributes.") + name), answered)
                     : Counted{};
  };
  bool answered = false;
  const Counted methods = counts("http.method", nullptr, &answered);
  EXPECT_TRUE(answered);
  const Counted cart = counts("http.method", "cart", &answered);
  EXPECT_TRUE(answered);
  const Counted codes = counts("http.status_code", "cart", &answered);
  EXPECT_TRUE(answered);
  // Pinned: what the block held when written (1,024 spans, 117 of them cart's).
  EXPECT_EQ(methods, (Counted{{std::string("DELETE"), 166},
                              {std::string("GET"), 517},
                              {std::string("POST"), 189},
                              {std::string("PUT"), 152}}));
  EXPECT_EQ(cart, (Counted{{std::string("DELETE"), 23},
                           {std::string("GET"), 53},
                           {std::string("POST"), 25},
                           {std::string("PUT"), 16}}));
  EXPECT_EQ(codes, (Counted{{int64_t{200}, 86}, {int64_t{201}, 23}, {int64_t{500}, 8}}));
  counts("user.id", nullptr, &answered);
  EXPECT_FALSE(answered);  // too many values in the block
  EXPECT_TRUE(counts("absent", nullptr, &answered).empty());
  EXPECT_TRUE(answered);
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

// The spans' group attributes, serialized; empty when they keep no groups.
std::string BuildGroupAttributes(const std::vector<model::StoredSpan>& spans) {
  BlockValueCountsBuilder builder;
  for (const model::StoredSpan& s : spans) builder.Add(s);
  absl::StatusOr<std::string> attributes = builder.GroupAttributes();
  EXPECT_TRUE(attributes.ok()) << attributes.status();
  return attributes.ok() ? *attributes : std::string();
}

// Group attributes answer a span attribute's values over the groups the filters keep exactly as
// decoding the kept spans does: values of every type, spans without the key, a key repeated on a
// span, arrays (which count nothing), and the keys the groups cannot count per group (too many
// values in the block, a double in two forms that compare equal) left to the decode.
TEST(BlockValueCountsTest, GroupAttributesCountAsTheKeptSpansAlone) {
  std::mt19937_64 rng(20261207);
  const char* services[] = {"cart", "checkout", "payment"};
  const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
  const std::vector<query::Filter> filters = {
      F("resource.attributes.service.name", query::Operator::kEquals, S("cart")),
      F("resource.attributes.service.name", query::Operator::kNotEquals, S("checkout")),
      F("resource.attributes.service.name", query::Operator::kExists),
      F("span.status.code", query::Operator::kEquals, S("Error")),
      F("span.kind", query::Operator::kIn, std::nullopt, {S("Server"), S("Consumer")}),
  };
  const char* always[] = {"m", "code", "hit", "ratio", "arr", "absent"};
  size_t kept_some = 0, zero_counted = 0, zero_not = 0, many_counted = 0, many_not = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::shared_ptr<const model::Resource>> resources;
    for (int r = 0; r < 4; ++r) {
      auto res = std::make_shared<model::Resource>();
      if (r > 0) res->attributes.push_back({"service.name", AnyValue(services[rng() % 3])});
      resources.push_back(std::move(res));
    }
    resources.push_back(nullptr);
    const bool zero_forms = rng() % 2 == 0;  // -0.0 beside 0.0 this round
    std::vector<model::StoredSpan> spans;
    const size_t n = 1 + rng() % 120;
    bool negative_zero = false, positive_zero = false;
    for (size_t i = 0; i < n; ++i) {
      model::StoredSpan s = MakeSpan(1, static_cast<uint8_t>(i), 1000, 10 + rng() % 1000);
      s.resource = resources[rng() % resources.size()];
      s.span.kind = static_cast<model::SpanKind>(rng() % 6);
      s.span.status.code = static_cast<model::StatusCode>(rng() % 3);
      auto maybe = [&rng](const char* key, AnyValue v, model::KeyValueList& to) {
        if (rng() % 4 != 0) to.push_back({key, std::move(v)});
      };
      model::KeyValueList& a = s.span.attributes;
      maybe("m", AnyValue(methods[rng() % 4]), a);
      maybe("code",
            rng() % 5 == 0 ? AnyValue(200.0) : AnyValue(static_cast<int64_t>(200 + rng() % 3)),
            a);
      maybe("hit", AnyValue(rng() % 2 == 0), a);
      maybe("ratio", AnyValue(rng() % 7 == 0 ? std::nan("") : 0.5 + rng() % 3), a);
      maybe("arr", AnyValue(model::ArrayValue{AnyValue("x")}), a);
      maybe("many", AnyValue(fmt::format("v{}", rng() % 300)), a);
      const bool negative = zero_forms && rng() % 2 == 0;
      negative_zero |= negative;
      positive_zero |= !negative;
      a.push_back({"zero", AnyValue(negative ? -0.0 : 0.0)});
      if (rng() % 8 == 0) a.push_back({"m", AnyValue("PATCH")});  // the last one counts
      spans.push_back(std::move(s));
    }
    std::vector<query::Filter> chosen;
    for (const query::Filter& f : filters) {
      if (rng() % 3 == 0) chosen.push_back(f);
    }
    const query::SpanMatcher matcher(chosen);
    std::vector<model::StoredSpan> kept;
    for (const model::StoredSpan& s : spans) {
      if (matcher.Matches(s)) kept.push_back(s);
    }
    kept_some += !kept.empty() && kept.size() < spans.size();
    const std::string groups = BuildGroups(spans);
    const std::string attributes = BuildGroupAttributes(spans);
    ASSERT_FALSE(groups.empty());
    ASSERT_FALSE(attributes.empty());
    auto subset_for = [&](std::string_view name) {
      absl::StatusOr<BlockValueCounts> subset = BlockValueCounts::FromGroups(
          groups, [&](const model::StoredSpan& s) { return matcher.Matches(s); },
          {/*keep_reads_kind=*/true, /*sketches=*/false, name, attributes});
      EXPECT_TRUE(subset.ok()) << subset.status();
      return *std::move(subset);
    };
    for (const char* name : always) {
      const std::string what = fmt::format("round {}: {} of {} spans, key {}", round, kept.size(),
                                           n, name);
      EXPECT_TRUE(ExpectCountsAnswerAsDecoding(subset_for(name), kept,
                                               K(std::string("span.attributes.") + name), what))
          << what;
      // Without the group attributes, or asked for another key, the key is not answered.
      bool answered = true;
      absl::StatusOr<BlockValueCounts> without = BlockValueCounts::FromGroups(
          groups, [&](const model::StoredSpan& s) { return matcher.Matches(s); },
          {true, false, name, ""});
      ASSERT_TRUE(without.ok());
      CountsOf(*without, K(std::string("span.attributes.") + name), &answered);
      EXPECT_FALSE(answered) << what;
      CountsOf(subset_for("hit"), K(std::string("span.attributes.") + name), &answered);
      EXPECT_EQ(answered, name == std::string_view("hit")) << what;
    }
    const std::string what = fmt::format("round {}", round);
    // 0.0 and -0.0 in one block: which form a group's first span had is not kept.
    const bool zero = ExpectCountsAnswerAsDecoding(subset_for("zero"), kept,
                                                   K("span.attributes.zero"), what);
    EXPECT_EQ(zero, !(negative_zero && positive_zero)) << what;
    (zero ? zero_counted : zero_not)++;
    // More than kMaxCountedValues values in the block: not counted at all.
    std::vector<std::string> distinct;
    for (const model::StoredSpan& s : spans) {
      if (const AnyValue* v = model::FindAttribute(s.span.attributes, "many")) {
        distinct.push_back(std::get<std::string>(v->value));
      }
    }
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const bool many = ExpectCountsAnswerAsDecoding(subset_for("many"), kept,
                                                   K("span.attributes.many"), what);
    EXPECT_EQ(many, distinct.size() <= kMaxCountedValues) << what;
    (many ? many_counted : many_not)++;
  }
  EXPECT_GT(kept_some, 100u);
  EXPECT_GT(zero_counted, 50u);
  EXPECT_GT(zero_not, 50u);
  EXPECT_GT(many_counted, 50u);
  EXPECT_GT(many_not, 50u);
}

// A key whose (group, value) pairs exceed kMaxGroupValueEntries is not counted per group; one with
// fewer in the same block is.
TEST(BlockValueCountsTest, KeysPastThePairLimitAreNotCountedPerGroup) {
  std::vector<model::StoredSpan> spans;
  for (int service = 0; service < 100; ++service) {
    auto resource = std::make_shared<model::Resource>();
    resource->attributes.push_back({"service.name", AnyValue(fmt::format("s{}", service))});
    for (int v = 0; v < 3; ++v) {
      model::StoredSpan s = MakeSpan(1, static_cast<uint8_t>(v), 1000, 10);
      s.resource = resource;
      s.span.attributes = {{"wide", AnyValue(int64_t{v})}, {"narrow", AnyValue(true)}};
      spans.push_back(std::move(s));
    }
  }
  const std::string groups = BuildGroups(spans), attributes = BuildGroupAttributes(spans);
  for (auto [name, counted] : {std::pair{"wide", false}, {"narrow", true}}) {
    absl::StatusOr<BlockValueCounts> all =
        BlockValueCounts::FromGroups(groups, KeepAll, {false, false, name, attributes});
    ASSERT_TRUE(all.ok()) << all.status();
    bool answered = false;
    const Counted got = CountsOf(*all, K(std::string("span.attributes.") + name), &answered);
    EXPECT_EQ(answered, counted) << name;
    if (counted) {
      EXPECT_EQ(got, (Counted{{true, 300}}));
    }
  }
}

// Group attributes from a frame's plain bytes.
std::string GroupAttributes(const std::string& plain, char version = 1) {
  absl::StatusOr<std::string> frame = ZstdCompress(plain, 3, "test");
  EXPECT_TRUE(frame.ok());
  return std::string(1, version) + *frame;
}

TEST(BlockValueCountsTest, MalformedGroupAttributesAreDataLossNamingTheProblem) {
  // Two groups of service "a": two Unset spans, one Error span (format 2, compact sketches).
  const std::string span5c = Bin("\x01\x05\x05\x05\x00" "\x01\xa5\x01");
  const std::string two5c = Bin("\x02\x05\x05\x0a\x00" "\x01\xa4\x01\x02");
  const std::string groups =
      Groups(Bin("\x03\x01\x01" "a" "\x02" "\x01\x00\x02") + two5c + Bin("\x01\x02\x02") + span5c,
             2);
  // Key "k": value "x", then the given pairs; a key "j" before it.
  auto key = [](const std::string& name, const std::string& entry) {
    return std::string(1, static_cast<char>(name.size())) + name +
           std::string(1, static_cast<char>(entry.size())) + entry;
  };
  const std::string x = Bin("\x01\x00\x01" "x");
  const std::vector<Malformed> cases = {
      {Bin("\x02\x00"), "block value counts: unknown group attributes format version 2"},
      {Bin("\x01\x00"), "block value counts: group attributes: zstd: Unknown frame descriptor"},
      {GroupAttributes(""), "block value counts: truncated attribute key count"},
      {GroupAttributes(Bin("\x01\x01" "k")), "block value counts: truncated attribute key 0"},
      {GroupAttributes(Bin("\x01\x01" "k\x05\x01")),
       "block value counts: truncated attribute key 0"},
      {GroupAttributes(Bin("\x02") + key("k", Bin("\x00")) + key("j", Bin("\x00"))),
       "block value counts: attribute key 1 out of order"},
      {GroupAttributes(Bin("\x01") + key("k", Bin("\x41"))),
       "block value counts: attribute key 0 has 65 values, more than 64"},
      {GroupAttributes(Bin("\x01") + key("k", Bin("\x00\x00"))),
       "block value counts: trailing bytes in attribute key 0"},
      {GroupAttributes(Bin("\x01") + key("k", Bin("\x01\x07"))),
       "block value counts: attribute key 0 value 0 is malformed"},
      {GroupAttributes(Bin("\x01") + key("k", x)), "block value counts: truncated attribute key 0"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x00"))),
       "block value counts: attribute key 0 has 0 pairs, not 1 to 256"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x00\x00"))),
       "block value counts: truncated attribute key 0 pair 0"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x02\x00\x01"))),
       "block value counts: attribute key 0 pair 0 out of range"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x00\x01\x01"))),
       "block value counts: attribute key 0 pair 0 out of range"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x00\x00\x00"))),
       "block value counts: attribute key 0 pair 0 out of range"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x02\x01\x00\x01\x00\x00\x01"))),
       "block value counts: attribute key 0 pair 1 out of order"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x01\x00\x02"))),
       "block value counts: attribute key 0 counts more spans than group 1 holds"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x00\x00\x01\x00"))),
       "block value counts: trailing bytes in attribute key 0"},
      {GroupAttributes(Bin("\x01") + key("k", x + Bin("\x01\x00\x00\x01")) + Bin("\x00")),
       "block value counts: trailing bytes after the group attributes"},
  };
  for (const Malformed& c : cases) {
    EXPECT_EQ(BlockValueCounts::FromGroups(groups, KeepAll, {false, true, "k", c.bytes}).status(),
              absl::DataLossError(c.message))
        << c.message;
  }
  // Well-formed: "x" on both spans of group 0 and on group 1's, "y" on none; the Error group
  // alone keeps one "x". Another key's malformed entry is stepped over unread.
  const std::string good = GroupAttributes(
      Bin("\x02") + key("j", Bin("\x09\x09")) +
      key("k", Bin("\x02\x00\x01" "x" "\x00\x01" "y" "\x02" "\x00\x00\x02" "\x01\x00\x01")));
  bool answered = false;
  absl::StatusOr<BlockValueCounts> all =
      BlockValueCounts::FromGroups(groups, KeepAll, {false, true, "k", good});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(CountsOf(*all, K("span.attributes.k"), &answered),
            (Counted{{std::string("x"), 3}}));
  EXPECT_TRUE(answered);
  absl::StatusOr<BlockValueCounts> errors = BlockValueCounts::FromGroups(
      groups,
      [](const model::StoredSpan& s) { return s.span.status.code == model::StatusCode::kError; },
      {false, true, "k", good});
  ASSERT_TRUE(errors.ok()) << errors.status();
  EXPECT_EQ(CountsOf(*errors, K("span.attributes.k"), &answered),
            (Counted{{std::string("x"), 1}}));
  EXPECT_TRUE(answered);
  // A key the block does not carry: answered, with no value; "j" is recorded as not counted.
  absl::StatusOr<BlockValueCounts> other =
      BlockValueCounts::FromGroups(groups, KeepAll, {false, true, "z", good});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(CountsOf(*other, K("span.attributes.z"), &answered).empty());
  EXPECT_TRUE(answered);
  const std::string not_counted = GroupAttributes(Bin("\x01") + key("j", Bin("\x00")));
  other = BlockValueCounts::FromGroups(groups, KeepAll, {false, true, "j", not_counted});
  ASSERT_TRUE(other.ok()) << other.status();
  CountsOf(*other, K("span.attributes.j"), &answered);
  EXPECT_FALSE(answered);
}

}  // namespace
}  // namespace teletrace::storage
