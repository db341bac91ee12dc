#include "storage/block_summary.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using query::Operator;
using query::testing::B;
using query::testing::D;
using query::testing::F;
using query::testing::I;
using query::testing::MakeSpan;
using query::testing::S;
using query::testing::SetResource;
using query::testing::SetScope;

// The serialized summary of `spans`, added in order.
std::string SummaryBytes(const std::vector<model::StoredSpan>& spans) {
  BlockSummaryBuilder builder;
  for (const model::StoredSpan& s : spans) builder.Add(s);
  return std::move(builder).Finish();
}

std::string Hex(std::string_view bytes) {
  std::string hex;
  for (char c : bytes) hex += fmt::format("{:02x}", static_cast<uint8_t>(c));
  return hex;
}

BlockSummary Summarise(const std::vector<model::StoredSpan>& spans) {
  absl::StatusOr<BlockSummary> summary = BlockSummary::Parse(SummaryBytes(spans));
  EXPECT_TRUE(summary.ok()) << summary.status();
  return *std::move(summary);
}

std::vector<model::StoredSpan> TypedSpans() {
  model::StoredSpan a = MakeSpan(1, 1, 100);
  a.span.name = "GET /orders";
  a.span.kind = model::SpanKind::kServer;
  a.span.status.code = model::StatusCode::kError;
  SetResource(a, {{"service.name", AnyValue("checkout")}, {"process.pid", AnyValue(int64_t{42})}});
  SetScope(a, "io.opentelemetry.http", "1.2.0", {{"scope.flag", AnyValue(true)}});
  a.span.attributes = {
      {"http.status_code", AnyValue(int64_t{200})},
      {"ratio", AnyValue(2.5)},
      {"whole", AnyValue(7.0)},
      {"cache.hit", AnyValue(true)},
      {"user.id", AnyValue("u-123456")},
      {"tags", AnyValue(model::ArrayValue{AnyValue("blue"), AnyValue(int64_t{9})})},
      {"blob", AnyValue(model::Bytes{"raw"})},
  };
  a.span.events.push_back(model::Event{});
  a.span.events.back().name = "exception";
  a.span.events.back().attributes = {{"exception.type", AnyValue("IOError")}};
  model::StoredSpan b = MakeSpan(1, 2, 200);
  b.span.name = "SELECT orders";
  b.span.kind = model::SpanKind::kClient;
  b.span.attributes = {{"db.rows", AnyValue(int64_t{-3})}};
  b.scope = nullptr;  // scope.name and scope.version are "" then
  return {a, b};
}

struct Case {
  query::Filter filter;
  bool may_match;
};

// Every case also checks the contract against the matcher: a summary may say "no" only when no
// span matches.
void ExpectCases(const std::vector<model::StoredSpan>& spans, const std::vector<Case>& cases) {
  BlockSummary summary = Summarise(spans);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    EXPECT_EQ(summary.MayMatch(c.filter), c.may_match) << "case " << i << " " << c.filter.key.text;
    bool any = false;
    query::SpanMatcher matcher({c.filter});
    for (const model::StoredSpan& s : spans) any = any || matcher.Matches(s);
    if (any) {
      EXPECT_TRUE(c.may_match) << "case " << i << " would prune a matching block";
    }
  }
}

TEST(BlockSummaryTest, TermsAreTypedAsTheMatcherComparesThem) {
  ExpectCases(TypedSpans(),
              {
                  {F("span.attributes.http.status_code", Operator::kEquals, I(200)), true},
                  {F("span.attributes.http.status_code", Operator::kEquals, D(200.0)), true},
                  {F("span.attributes.http.status_code", Operator::kEquals, S("200")), false},
                  {F("span.attributes.http.status_code", Operator::kEquals, I(201)), false},
                  {F("span.attributes.ratio", Operator::kEquals, D(2.5)), true},
                  {F("span.attributes.ratio", Operator::kEquals, S("2.5")), false},
                  // Doubles that are not integral have no value terms (format 3): the key's
                  // presence decides alone.
                  {F("span.attributes.ratio", Operator::kEquals, D(3.5)), true},
                  {F("span.attributes.ratio", Operator::kIn, std::nullopt, {I(1), D(3.5)}), true},
                  {F("span.attributes.whole", Operator::kEquals, D(7.5)), true},
                  {F("span.attributes.absent", Operator::kEquals, D(2.5)), false},
                  {F("span.attributes.whole", Operator::kEquals, I(7)), true},
                  {F("span.attributes.whole", Operator::kEquals, D(7.0)), true},
                  {F("span.attributes.cache.hit", Operator::kEquals, B(true)), true},
                  {F("span.attributes.cache.hit", Operator::kEquals, B(false)), false},
                  {F("span.attributes.cache.hit", Operator::kEquals, S("true")), false},
                  {F("span.attributes.user.id", Operator::kEquals, S("u-123456")), true},
                  {F("span.attributes.user.id", Operator::kEquals, S("u-123457")), false},
                  {F("span.attributes.tags", Operator::kEquals, S("blue")), true},
                  {F("span.attributes.tags", Operator::kEquals, I(9)), true},
                  {F("span.attributes.tags", Operator::kEquals, D(9.0)), true},
                  {F("span.attributes.tags", Operator::kEquals, S("9")), false},
                  {F("span.attributes.db.rows", Operator::kEquals, I(-3)), true},
                  {F("span.attributes.blob", Operator::kEquals, S("raw")), false},
              });
}

TEST(BlockSummaryTest, LevelsAndIntrinsicsAreDistinctTerms) {
  ExpectCases(
      TypedSpans(),
      {
          {F("resource.attributes.service.name", Operator::kEquals, S("checkout")), true},
          {F("span.attributes.service.name", Operator::kEquals, S("checkout")), false},
          {F("resource.attributes.process.pid", Operator::kEquals, I(42)), true},
          {F("scope.attributes.scope.flag", Operator::kEquals, B(true)), true},
          {F("span.attributes.scope.flag", Operator::kEquals, B(true)), false},
          {F("span.name", Operator::kEquals, S("GET /orders")), true},
          {F("span.name", Operator::kEquals, S("SELECT orders")), true},
          {F("span.name", Operator::kEquals, S("PUT /orders")), false},
          {F("span.kind", Operator::kEquals, S("Server")), true},
          {F("span.kind", Operator::kEquals, S("Client")), true},
          {F("span.kind", Operator::kEquals, S("Consumer")), false},
          {F("span.status.code", Operator::kEquals, S("Error")), true},
          {F("span.status.code", Operator::kEquals, S("Unset")), true},
          {F("span.status.code", Operator::kEquals, S("Ok")), false},
          {F("scope.name", Operator::kEquals, S("io.opentelemetry.http")), true},
          {F("scope.name", Operator::kEquals, S("other")), false},
          {F("scope.version", Operator::kEquals, S("1.2.0")), true},
          {F("scope.version", Operator::kEquals, S("")), true},  // span b has no scope
          {F("scope.name", Operator::kEquals, S("")), true},
      });
}

TEST(BlockSummaryTest, InMayMatchWhenAnyOperandMay) {
  ExpectCases(TypedSpans(),
              {
                  {F("span.attributes.user.id", Operator::kIn, std::nullopt,
                     {S("u-1"), S("u-123456")}),
                   true},
                  {F("span.attributes.user.id", Operator::kIn, std::nullopt, {S("u-1"), S("u-2")}),
                   false},
                  {F("span.attributes.http.status_code", Operator::kIn, std::nullopt,
                     {S("200"), D(200.0)}),
                   true},
              });
}

TEST(BlockSummaryTest, NegativeOperatorsAndOtherIntrinsicsNeverPrune) {
  const std::vector<query::Filter> filters = {
      F("span.attributes.user.id", Operator::kNotEquals, S("u-1")),
      F("span.attributes.user.id", Operator::kNotIn, std::nullopt, {S("u-1")}),
      F("span.attributes.nothing", Operator::kNotContains, S("zzz")),
      F("span.attributes.nothing", Operator::kNotExists),
      F("span.events.attributes.nothing", Operator::kNotEquals, S("x")),
      F("span.events.name", Operator::kEquals, S("retry")),
      F("span.traceId", Operator::kEquals, S("0000000000000000000000000000ffff")),
      F("span.status.message", Operator::kEquals, S("boom")),
      F("externalFields.durationNano", Operator::kEquals, I(12345)),
  };
  BlockSummary summary = Summarise(TypedSpans());
  for (const query::Filter& f : filters) {
    EXPECT_FALSE(IsPrunable(f)) << f.key.text;
    EXPECT_TRUE(summary.MayMatch(f)) << f.key.text;
  }
  EXPECT_TRUE(IsPrunable(F("span.attributes.user.id", Operator::kEquals, S("u-1"))));
  EXPECT_TRUE(IsPrunable(F("span.kind", Operator::kIn, std::nullopt, {S("Server")})));
}

// Format 2: a filter that needs a key (any positive operator, on any attribute level, events' and
// links' included) rules out a block where no span has the key, whatever the value.
TEST(BlockSummaryTest, PresenceTermsRuleOutFiltersThatNeedAnAbsentKey) {
  const std::vector<Case> cases = {
      {F("span.attributes.user.id", Operator::kExists), true},
      {F("span.attributes.nothing", Operator::kExists), false},
      {F("span.attributes.user.id", Operator::kContains, S("zzz")), true},
      {F("span.attributes.nothing", Operator::kContains, S("u")), false},
      {F("span.attributes.http.status_code", Operator::kGt, I(1000)), true},
      {F("span.attributes.nothing", Operator::kGte, I(1)), false},
      {F("span.attributes.blob", Operator::kExists), true},  // bytes: a key without value terms
      {F("span.events.attributes.exception.type", Operator::kEquals, S("Timeout")), true},
      {F("span.events.attributes.exception.type", Operator::kExists), true},
      {F("span.events.attributes.user.id", Operator::kEquals, S("u-123456")), false},
      {F("span.links.attributes.exception.type", Operator::kExists), false},
      {F("resource.attributes.service.name", Operator::kExists), true},
      {F("resource.attributes.user.id", Operator::kIn, std::nullopt, {S("u-123456")}), false},
      {F("scope.attributes.scope.flag", Operator::kExists), true},
      {F("scope.attributes.user.id", Operator::kExists), false},
  };
  ExpectCases(TypedSpans(), cases);
  for (const Case& c : cases) EXPECT_TRUE(IsPrunable(c.filter)) << c.filter.key.text;

  // A link attribute is recorded too.
  std::vector<model::StoredSpan> linked = TypedSpans();
  linked[1].span.links.push_back(model::Link{});
  linked[1].span.links.back().attributes = {{"link.kind", AnyValue("follows")}};
  ExpectCases(linked, {{F("span.links.attributes.link.kind", Operator::kEquals, S("x")), true},
                       {F("span.links.attributes.other", Operator::kExists), false}});

  // Summaries of every version whose bits are all clear: what each version rules out by.
  auto empty = [](char version) { return std::string{version, '\x07'} + std::string(8, '\0'); };
  const query::Filter exists = F("span.attributes.ratio", Operator::kExists);
  const query::Filter fraction = F("span.attributes.ratio", Operator::kEquals, D(3.5));
  // Format 1 (written before presence terms) never prunes by presence; formats 1 and 2 have
  // value terms for every double.
  EXPECT_TRUE(SummaryFilter(exists).MayMatch(empty('\x01')));
  EXPECT_FALSE(SummaryFilter(fraction).MayMatch(empty('\x01')));
  EXPECT_FALSE(SummaryFilter(exists).MayMatch(empty('\x02')));
  EXPECT_FALSE(SummaryFilter(exists).MayMatch(empty('\x03')));
  // Format 3 has none for a double that is not integral: with every bit set (so the key is
  // present), such a value may match.
  const std::string full = std::string{'\x03', '\x07'} + std::string(8, '\xff');
  EXPECT_TRUE(SummaryFilter(fraction).MayMatch(full));
}

TEST(BlockSummaryTest, SizeIsAboutTenBitsPerDistinctTerm) {
  // Five intrinsic terms: the minimum of 64 bits.
  EXPECT_EQ(Summarise({MakeSpan(1, 1, 100)}).BitCount(), 64u);
  std::vector<model::StoredSpan> spans;
  for (int i = 0; i < 1000; ++i) {
    model::StoredSpan s = MakeSpan(1, static_cast<uint8_t>(i), 100);
    s.span.attributes = {{"user.id", AnyValue(fmt::format("u-{}", i))},
                         {"http.method", AnyValue("GET")}};
    spans.push_back(std::move(s));
  }
  // 1,000 user ids, one method, the two keys' presence terms and five intrinsic terms (name, kind,
  // status, scope name and version): 1,008 terms * 9.6 bits = 9,676.8, rounded up to whole bytes.
  BlockSummary summary = Summarise(spans);
  EXPECT_EQ(summary.BitCount(), 9680u);
  int false_positives = 0;
  auto user = [](int i) {
    return F("span.attributes.user.id", Operator::kEquals, query::Scalar(fmt::format("u-{}", i)));
  };
  for (int i = 1000; i < 11000; ++i) {
    if (summary.MayMatch(user(i))) ++false_positives;
  }
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(summary.MayMatch(user(i))) << i;
  // ~1% of 10,000 absent values, as designed. Pinned: the hash and probe layout are a persisted
  // format, so a change to either shows here (and in SerializedFormIsStable).
  EXPECT_EQ(false_positives, 84);
}

TEST(BlockSummaryTest, CorruptBytesAreDataLoss) {
  struct Bad {
    std::string bytes;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {"", "block summary: 0 bytes, want at least 3"},
      {std::string("\x01\x07", 2), "block summary: 2 bytes, want at least 3"},
      {std::string("\x04\x07\x00", 3), "block summary: unknown format version 4 (want 1 to 3)"},
      {std::string("\x00\x07\x00", 3), "block summary: unknown format version 0 (want 1 to 3)"},
      {std::string("\x01\x00\x00", 3), "block summary: 0 probes per term, want 1 to 16"},
      {std::string("\x01\x11\x00", 3), "block summary: 17 probes per term, want 1 to 16"},
  };
  for (const Bad& bad : cases) {
    absl::StatusOr<BlockSummary> summary = BlockSummary::Parse(bad.bytes);
    EXPECT_EQ(summary.status().code(), absl::StatusCode::kDataLoss) << bad.message;
    EXPECT_EQ(summary.status().message(), bad.message);
  }
  // The smallest valid summary: one byte of bits, all clear, rules out every term.
  absl::StatusOr<BlockSummary> empty = BlockSummary::Parse(std::string("\x01\x07\x00", 3));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(empty->MayMatch(F("span.name", Operator::kEquals, S("x"))));
}

TEST(BlockSummaryTest, SerializedFormIsStable) {
  model::StoredSpan s = MakeSpan(1, 1, 100);
  s.span.name = "GET";
  // Version 3, 7 probes, 64 bits for the span's five intrinsic terms.
  EXPECT_EQ(Hex(SummaryBytes({s})), "0307ec0a9f2054c13a40");
  // With one attribute: its value term and its key's presence term.
  s.span.attributes = {{"k", AnyValue("v")}};
  const std::string bytes = SummaryBytes({s});
  EXPECT_EQ(Hex(bytes), "03072d3719facac977a4ac");  // 7 terms: 72 bits

  // What version 2 wrote for the same span (each term hashed whole) is still read by its hashes,
  // and the version 3 bytes by theirs.
  const std::string v2("\x02\x07\x02\xe4\x38\x19\x8b\x4d\xba\xc5\xe9", 11);
  for (const std::string& summary : {v2, bytes}) {
    SCOPED_TRACE(static_cast<int>(summary[0]));
    EXPECT_TRUE(SummaryFilter(F("span.attributes.k", Operator::kEquals, S("v"))).MayMatch(summary));
    EXPECT_TRUE(SummaryFilter(F("span.name", Operator::kEquals, S("GET"))).MayMatch(summary));
    EXPECT_TRUE(SummaryFilter(F("span.attributes.k", Operator::kExists)).MayMatch(summary));
    EXPECT_FALSE(
        SummaryFilter(F("span.attributes.k", Operator::kEquals, S("w"))).MayMatch(summary));
    EXPECT_FALSE(SummaryFilter(F("span.name", Operator::kEquals, S("PUT"))).MayMatch(summary));
    EXPECT_FALSE(SummaryFilter(F("span.attributes.j", Operator::kExists)).MayMatch(summary));
  }
}

// The builder reuses a key's hash when a span lists it where the previous span did. The summary is
// a set of terms, so it must come out the same whatever order the spans and their keys come in,
// and every key and value of every span must pass it.
TEST(BlockSummaryTest, KeysInAnyOrderGiveTheSameSummary) {
  const std::vector<std::string> names = {"a", "b", "", "http.method", "user.id", "a.longer.key"};
  std::vector<model::StoredSpan> spans;
  uint64_t seed = 7;
  auto next = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (int i = 0; i < 200; ++i) {
    model::StoredSpan s = MakeSpan(1, static_cast<uint8_t>(i), 100);
    for (size_t a = next(5); a > 0; --a) {
      s.span.attributes.push_back(
          {names[next(names.size())], AnyValue(fmt::format("v{}", next(9)))});
    }
    spans.push_back(std::move(s));
  }
  const std::string forward = SummaryBytes(spans);
  std::vector<model::StoredSpan> reversed(spans.rbegin(), spans.rend());
  EXPECT_EQ(SummaryBytes(reversed), forward);
  for (model::StoredSpan& s : reversed) {
    std::reverse(s.span.attributes.begin(), s.span.attributes.end());
  }
  EXPECT_EQ(SummaryBytes(reversed), forward);
  absl::StatusOr<BlockSummary> summary = BlockSummary::Parse(forward);
  ASSERT_TRUE(summary.ok()) << summary.status();
  size_t checked = 0;
  for (const model::StoredSpan& s : spans) {
    for (const model::KeyValue& kv : s.span.attributes) {
      // Built by hand: the API has no name for the empty key, which a span may still have.
      query::Filter filter;
      filter.key.level = query::KeyLevel::kSpan;
      filter.key.name = kv.key;
      filter.op = Operator::kExists;
      EXPECT_TRUE(summary->MayMatch(filter)) << kv.key;
      filter.op = Operator::kEquals;
      filter.value = query::Scalar(std::get<std::string>(kv.value.value));
      EXPECT_TRUE(summary->MayMatch(filter)) << kv.key;
      ++checked;
    }
  }
  EXPECT_GT(checked, 300u);
}

// Keys and values of every length from 0 to 24 bytes, so the term hash is pinned for every tail
// length (0-7 bytes after whole 8-byte words) of both the key name and the value part.
TEST(BlockSummaryTest, HashIsStableForEveryLength) {
  model::StoredSpan s = MakeSpan(1, 1, 100);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  for (size_t n = 0; n <= 24; ++n) {
    s.span.attributes.push_back({letters.substr(0, n), AnyValue(letters.substr(n, 24 - n))});
  }
  // Written by the byte-at-a-time loads before 2026-12-06: faster loads must not change a bit.
  EXPECT_EQ(Hex(SummaryBytes({s})),
            "03073d46d5fc859da3dc52289aa424402af6b2673d0283ebfefb86d3be828fd8625615"
            "2bfc4e0fc9bb4ef7b9e530ac54d24e122cc1d1e8e123a4381d32b65f251b1c4832");
}

}  // namespace
}  // namespace teletrace::storage
