#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using model::AnyValue;
using model::ArrayValue;
using model::KeyValueList;
using testing::B;
using testing::D;
using testing::F;
using testing::I;
using testing::K;
using testing::S;
using testing::Sid;
using testing::Tid;

constexpr int64_t kBig = 9007199254740993;  // 2^53 + 1: not representable as a double

model::StoredSpan RichSpan() {
  model::StoredSpan s = testing::MakeSpan(1, 2, 1000, 500);
  s.ingestion_time_unix_nano = 2000;
  s.span.parent_span_id = Sid(3);
  s.span.name = "GET /users";
  s.span.kind = model::SpanKind::kServer;
  s.span.status = {"boom", model::StatusCode::kError};
  s.span.trace_state = "vendor=a1";
  testing::SetResource(s, {{"service.name", "api"}, {"host.cpu", 8}});
  testing::SetScope(s, "io.http", "1.2.0", {{"lib.flag", true}});
  s.span.attributes = {
      {"http.method", "GET"},
      {"http.status_code", 500},
      {"ratio", 0.25},
      {"cached", false},
      {"tags", ArrayValue{"a", "b"}},
      {"codes", ArrayValue{200, 404}},
      {"raw", model::Bytes{"xyz"}},
      {"map", KeyValueList{{"inner", "v"}}},
      {"dup", "first"},
      {"big", kBig},
      {"dup", "second"},
      {"empty", AnyValue()},
  };
  model::Event exception{1100, "exception", {{"exception.type", "IOError"}, {"retries", 3}}};
  model::Event log{1200, "log", {{"level", "info"}, {"retries", 5}}};
  s.span.events = {exception, log};
  model::Link follows;
  follows.trace_id = Tid(9);
  follows.span_id = Sid(8);
  follows.attributes = {{"link.kind", "follows"}};
  model::Link plain;
  plain.trace_id = Tid(7);
  plain.span_id = Sid(6);
  s.span.links = {follows, plain};
  return s;
}

bool Match(const model::StoredSpan& s, std::vector<Filter> filters) {
  return SpanMatcher(std::move(filters)).Matches(s);
}

bool Match(const model::StoredSpan& s, Filter f) { return Match(s, std::vector<Filter>{f}); }

TEST(SpanMatcherTest, NoFiltersMatchesEverything) {
  EXPECT_TRUE(Match(RichSpan(), std::vector<Filter>{}));
  EXPECT_TRUE(Match(model::StoredSpan{}, std::vector<Filter>{}));
}

TEST(SpanMatcherTest, StringIntrinsics) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.name", Operator::kEquals, S("GET /users"))));
  EXPECT_FALSE(Match(s, F("span.name", Operator::kEquals, S("get /users"))));
  EXPECT_TRUE(Match(s, F("span.name", Operator::kNotEquals, S("POST"))));
  EXPECT_TRUE(Match(s, F("span.name", Operator::kContains, S("/us"))));
  EXPECT_FALSE(Match(s, F("span.name", Operator::kContains, S("/US"))));
  EXPECT_TRUE(Match(s, F("span.name", Operator::kNotContains, S("POST"))));
  EXPECT_TRUE(Match(s, F("span.name", Operator::kIn, std::nullopt, {S("x"), S("GET /users")})));
  EXPECT_FALSE(Match(s, F("span.name", Operator::kNotIn, std::nullopt, {S("GET /users")})));
  EXPECT_TRUE(Match(s, F("span.name", Operator::kExists)));
  EXPECT_FALSE(Match(s, F("span.name", Operator::kNotExists)));
  EXPECT_TRUE(Match(s, F("span.traceState", Operator::kEquals, S("vendor=a1"))));
  EXPECT_TRUE(Match(s, F("span.status.message", Operator::kEquals, S("boom"))));
  EXPECT_TRUE(Match(s, F("scope.name", Operator::kEquals, S("io.http"))));
  EXPECT_TRUE(Match(s, F("scope.version", Operator::kContains, S("1.2"))));
}

TEST(SpanMatcherTest, IdIntrinsicsCompareAsLowercaseHex) {
  model::StoredSpan s = RichSpan();
  s.span.trace_id[0] = 0xAB;
  std::string hex = ToHex(s.span.trace_id);
  EXPECT_EQ(hex, "ab000000000000000000000000000001");
  EXPECT_TRUE(
      Match(s, F("span.traceId", Operator::kEquals, S("AB000000000000000000000000000001"))));
  EXPECT_TRUE(Match(s, F("span.traceId", Operator::kContains, S("AB00"))));
  EXPECT_TRUE(Match(s, F("span.spanId", Operator::kEquals, S("0000000000000002"))));
  EXPECT_TRUE(Match(s, F("span.parentSpanId", Operator::kEquals, S("0000000000000003"))));
  EXPECT_FALSE(Match(s, F("span.parentSpanId", Operator::kEquals, S(""))));
  s.span.parent_span_id = SpanId{};
  EXPECT_TRUE(Match(s, F("span.parentSpanId", Operator::kEquals, S(""))));
}

TEST(SpanMatcherTest, KindAndStatusCompareByCanonicalName) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.kind", Operator::kEquals, S("server"))));
  EXPECT_TRUE(Match(s, F("span.kind", Operator::kEquals, I(2))));
  EXPECT_TRUE(Match(s, F("span.kind", Operator::kEquals, S("SPAN_KIND_SERVER"))));
  EXPECT_FALSE(Match(s, F("span.kind", Operator::kEquals, I(3))));
  EXPECT_TRUE(Match(s, F("span.kind", Operator::kNotIn, std::nullopt, {S("Client"), I(1)})));
  EXPECT_TRUE(Match(s, F("span.status.code", Operator::kEquals, S("ERROR"))));
  EXPECT_TRUE(Match(s, F("span.status.code", Operator::kNotEquals, I(1))));
  EXPECT_FALSE(Match(s, F("span.status.code", Operator::kIn, std::nullopt, {S("Ok"), S("Unset")})));
  s.span.kind = model::SpanKind::kUnspecified;
  s.span.status.code = model::StatusCode::kUnset;
  EXPECT_TRUE(Match(s, F("span.kind", Operator::kEquals, I(0))));
  EXPECT_TRUE(Match(s, F("span.status.code", Operator::kEquals, S("unset"))));
}

TEST(SpanMatcherTest, NumericIntrinsics) {
  model::StoredSpan s = RichSpan();  // start 1000, end 1500, duration 500, ingested 2000
  EXPECT_TRUE(Match(s, F("span.startTimeUnixNano", Operator::kEquals, I(1000))));
  EXPECT_TRUE(Match(s, F("span.startTimeUnixNano", Operator::kGte, I(1000))));
  EXPECT_FALSE(Match(s, F("span.startTimeUnixNano", Operator::kGt, I(1000))));
  EXPECT_TRUE(Match(s, F("span.endTimeUnixNano", Operator::kLte, I(1500))));
  EXPECT_FALSE(Match(s, F("span.endTimeUnixNano", Operator::kLt, I(1500))));
  EXPECT_TRUE(Match(s, F("externalFields.durationNano", Operator::kGt, D(499.5))));
  EXPECT_FALSE(Match(s, F("externalFields.durationNano", Operator::kGt, D(500.5))));
  EXPECT_TRUE(Match(s, F("externalFields.durationNano", Operator::kEquals, D(500.0))));
  EXPECT_TRUE(Match(
      s, F("externalFields.durationNano", Operator::kIn, std::nullopt, {I(1), I(500)})));
  EXPECT_TRUE(Match(s, F("ingestionTimeUnixNano", Operator::kNotEquals, I(1999))));
  EXPECT_TRUE(Match(s, F("ingestionTimeUnixNano", Operator::kGt, I(-5))));
}

TEST(SpanMatcherTest, TypedAttributeComparison) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.attributes.http.status_code", Operator::kEquals, I(500))));
  EXPECT_TRUE(Match(s, F("span.attributes.http.status_code", Operator::kEquals, D(500.0))));
  EXPECT_FALSE(Match(s, F("span.attributes.http.status_code", Operator::kEquals, S("500"))));
  EXPECT_TRUE(Match(s, F("span.attributes.http.status_code", Operator::kNotEquals, S("500"))));
  EXPECT_FALSE(Match(s, F("span.attributes.http.method", Operator::kEquals, I(0))));
  EXPECT_TRUE(Match(s, F("span.attributes.ratio", Operator::kGt, D(0.2))));
  EXPECT_TRUE(Match(s, F("span.attributes.ratio", Operator::kGt, I(0))));
  EXPECT_TRUE(Match(s, F("span.attributes.ratio", Operator::kLt, I(1))));
  EXPECT_FALSE(Match(s, F("span.attributes.ratio", Operator::kGte, D(0.26))));
  EXPECT_TRUE(Match(s, F("span.attributes.ratio", Operator::kLte, D(0.25))));
  EXPECT_TRUE(Match(s, F("span.attributes.cached", Operator::kEquals, B(false))));
  EXPECT_FALSE(Match(s, F("span.attributes.cached", Operator::kEquals, S("false"))));
  EXPECT_FALSE(Match(s, F("span.attributes.cached", Operator::kEquals, I(0))));
  EXPECT_FALSE(Match(s, F("span.attributes.http.method", Operator::kGt, I(0))));
  EXPECT_FALSE(Match(s, F("span.attributes.http.status_code", Operator::kContains, S("50"))));
  EXPECT_TRUE(Match(s, F("span.attributes.http.method", Operator::kIn, std::nullopt,
                         {I(1), B(true), S("GET")})));
}

TEST(SpanMatcherTest, LargeIntegersCompareExactly) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.attributes.big", Operator::kEquals, I(kBig))));
  EXPECT_FALSE(Match(s, F("span.attributes.big", Operator::kEquals, I(kBig - 1))));
  // The nearest double is 2^53, which is not equal to 2^53 + 1.
  EXPECT_FALSE(Match(s, F("span.attributes.big", Operator::kEquals, D(9007199254740992.0))));
  EXPECT_TRUE(Match(s, F("span.attributes.big", Operator::kGt, D(9007199254740992.0))));
  EXPECT_TRUE(Match(s, F("span.attributes.big", Operator::kLt, D(1e19))));
  EXPECT_TRUE(Match(s, F("span.attributes.big", Operator::kGt, D(-1e19))));
}

TEST(SpanMatcherTest, ArraysMatchWhenAnyElementDoes) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.attributes.tags", Operator::kEquals, S("b"))));
  EXPECT_FALSE(Match(s, F("span.attributes.tags", Operator::kEquals, S("c"))));
  EXPECT_FALSE(Match(s, F("span.attributes.tags", Operator::kNotEquals, S("a"))));
  EXPECT_TRUE(Match(s, F("span.attributes.tags", Operator::kNotEquals, S("c"))));
  EXPECT_TRUE(Match(s, F("span.attributes.tags", Operator::kContains, S("a"))));
  EXPECT_TRUE(Match(s, F("span.attributes.codes", Operator::kIn, std::nullopt, {I(404)})));
  EXPECT_TRUE(Match(s, F("span.attributes.codes", Operator::kGt, I(300))));
  EXPECT_FALSE(Match(s, F("span.attributes.codes", Operator::kLt, I(100))));
  EXPECT_TRUE(Match(s, F("span.attributes.codes", Operator::kNotIn, std::nullopt, {I(500)})));
  EXPECT_TRUE(Match(s, F("span.attributes.codes", Operator::kExists)));
}

TEST(SpanMatcherTest, BytesMapsAndEmptyValuesOnlyExist) {
  model::StoredSpan s = RichSpan();
  for (const char* key : {"span.attributes.raw", "span.attributes.map", "span.attributes.empty"}) {
    EXPECT_TRUE(Match(s, F(key, Operator::kExists))) << key;
    EXPECT_FALSE(Match(s, F(key, Operator::kNotExists))) << key;
    EXPECT_FALSE(Match(s, F(key, Operator::kEquals, S("xyz")))) << key;
    EXPECT_FALSE(Match(s, F(key, Operator::kContains, S("x")))) << key;
    EXPECT_TRUE(Match(s, F(key, Operator::kNotEquals, S("xyz")))) << key;
  }
}

TEST(SpanMatcherTest, LastOccurrenceOfAKeyWins) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.attributes.dup", Operator::kEquals, S("second"))));
  EXPECT_FALSE(Match(s, F("span.attributes.dup", Operator::kEquals, S("first"))));
}

TEST(SpanMatcherTest, NegativeOperatorsMatchSpansLackingTheKey) {
  model::StoredSpan s = RichSpan();
  const char* missing = "span.attributes.nope";
  EXPECT_FALSE(Match(s, F(missing, Operator::kEquals, S("x"))));
  EXPECT_TRUE(Match(s, F(missing, Operator::kNotEquals, S("x"))));
  EXPECT_FALSE(Match(s, F(missing, Operator::kIn, std::nullopt, {S("x")})));
  EXPECT_TRUE(Match(s, F(missing, Operator::kNotIn, std::nullopt, {S("x")})));
  EXPECT_FALSE(Match(s, F(missing, Operator::kContains, S("x"))));
  EXPECT_TRUE(Match(s, F(missing, Operator::kNotContains, S("x"))));
  EXPECT_FALSE(Match(s, F(missing, Operator::kExists)));
  EXPECT_TRUE(Match(s, F(missing, Operator::kNotExists)));
  EXPECT_FALSE(Match(s, F(missing, Operator::kGt, I(0))));
  EXPECT_FALSE(Match(s, F(missing, Operator::kLte, I(0))));
}

TEST(SpanMatcherTest, ResourceAndScopeLevels) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("resource.attributes.service.name", Operator::kEquals, S("api"))));
  EXPECT_TRUE(Match(s, F("resource.attributes.host.cpu", Operator::kGte, I(8))));
  EXPECT_TRUE(Match(s, F("scope.attributes.lib.flag", Operator::kEquals, B(true))));
  // Levels do not leak into each other.
  EXPECT_FALSE(Match(s, F("span.attributes.service.name", Operator::kExists)));
  EXPECT_FALSE(Match(s, F("resource.attributes.http.method", Operator::kExists)));
  EXPECT_FALSE(Match(s, F("scope.attributes.service.name", Operator::kExists)));
  EXPECT_FALSE(Match(s, F("span.events.attributes.http.method", Operator::kExists)));
  // A span read without resource or scope has no attributes there.
  s.resource = nullptr;
  s.scope = nullptr;
  EXPECT_FALSE(Match(s, F("resource.attributes.service.name", Operator::kExists)));
  EXPECT_TRUE(Match(s, F("resource.attributes.service.name", Operator::kNotEquals, S("api"))));
  EXPECT_FALSE(Match(s, F("scope.attributes.lib.flag", Operator::kExists)));
  EXPECT_TRUE(Match(s, F("scope.name", Operator::kEquals, S(""))));
}

TEST(SpanMatcherTest, EventsMatchWhenAnyEventDoes) {
  model::StoredSpan s = RichSpan();
  EXPECT_TRUE(Match(s, F("span.events.name", Operator::kEquals, S("log"))));
  EXPECT_FALSE(Match(s, F("span.events.name", Operator::kNotEquals, S("log"))));
  EXPECT_TRUE(Match(s, F("span.events.name", Operator::kNotEquals, S("other"))));
  EXPECT_TRUE(Match(s, F("span.events.attributes.exception.type", Operator::kEquals,
                         S("IOError"))));
  EXPECT_FALSE(Match(s, F("span.events.attributes.exception.type", Operator::kNotEquals,
                          S("IOError"))));
  EXPECT_TRUE(Match(s, F("span.events.attributes.retries", Operator::kGt, I(4))));
  EXPECT_TRUE(Match(s, F("span.events.attributes.retries", Operator::kLt, I(4))));
  EXPECT_FALSE(Match(s, F("span.events.attributes.retries", Operator::kGt, I(5))));
  EXPECT_TRUE(Match(s, F("span.events.attributes.level", Operator::kExists)));
  // Each filter looks for its own event: two filters may be satisfied by different events.
  EXPECT_TRUE(Match(s, {F("span.events.attributes.exception.type", Operator::kExists),
                        F("span.events.attributes.level", Operator::kEquals, S("info"))}));
  s.span.events.clear();
  EXPECT_FALSE(Match(s, F("span.events.name", Operator::kExists)));
  EXPECT_TRUE(Match(s, F("span.events.name", Operator::kNotExists)));
  EXPECT_TRUE(Match(s, F("span.events.attributes.retries", Operator::kNotEquals, I(3))));
}

TEST(SpanMatcherTest, LinksMatchWhenAnyLinkDoes) {
  model::StoredSpan s = RichSpan();
  std::string t7 = ToHex(Tid(7));
  EXPECT_TRUE(Match(s, F("span.links.traceId", Operator::kEquals, Scalar(t7))));
  EXPECT_FALSE(Match(s, F("span.links.traceId", Operator::kNotEquals, Scalar(t7))));
  EXPECT_TRUE(Match(s, F("span.links.spanId", Operator::kIn, std::nullopt,
                         {S("0000000000000008")})));
  EXPECT_TRUE(Match(s, F("span.links.attributes.link.kind", Operator::kEquals, S("follows"))));
  EXPECT_TRUE(Match(s, F("span.links.attributes.link.kind", Operator::kExists)));
  EXPECT_FALSE(Match(s, F("span.links.attributes.link.kind", Operator::kNotExists)));
  EXPECT_TRUE(Match(s, F("span.links.attributes.other", Operator::kNotExists)));
  s.span.links.clear();
  EXPECT_FALSE(Match(s, F("span.links.traceId", Operator::kExists)));
  EXPECT_TRUE(Match(s, F("span.links.traceId", Operator::kNotEquals, Scalar(t7))));
}

// Every operator at every attribute level, against a span that has `k` = "hello" and `n` = 7
// only at that level.
TEST(SpanMatcherTest, EveryOperatorAtEveryAttributeLevel) {
  const model::KeyValueList attrs = {{"k", "hello"}, {"n", 7}};
  const std::vector<std::string> levels = {"resource.attributes.", "scope.attributes.",
                                           "span.attributes.", "span.events.attributes.",
                                           "span.links.attributes."};
  for (size_t level = 0; level < levels.size(); ++level) {
    model::StoredSpan s = testing::MakeSpan(1, 1, 10);
    if (level == 0) testing::SetResource(s, attrs);
    if (level == 1) testing::SetScope(s, "lib", "1", attrs);
    if (level == 2) s.span.attributes = attrs;
    if (level == 3) s.span.events = {model::Event{}, model::Event{1, "e", attrs}};
    if (level == 4) {
      model::Link l;
      l.attributes = attrs;
      s.span.links = {model::Link{}, l};
    }
    const std::string k = levels[level] + "k";
    const std::string n = levels[level] + "n";
    SCOPED_TRACE(k);
    EXPECT_TRUE(Match(s, F(k, Operator::kEquals, S("hello"))));
    EXPECT_FALSE(Match(s, F(k, Operator::kNotEquals, S("hello"))));
    EXPECT_TRUE(Match(s, F(k, Operator::kIn, std::nullopt, {S("x"), S("hello")})));
    EXPECT_FALSE(Match(s, F(k, Operator::kNotIn, std::nullopt, {S("x"), S("hello")})));
    EXPECT_TRUE(Match(s, F(k, Operator::kContains, S("ell"))));
    EXPECT_FALSE(Match(s, F(k, Operator::kNotContains, S("ell"))));
    EXPECT_TRUE(Match(s, F(k, Operator::kExists)));
    EXPECT_FALSE(Match(s, F(k, Operator::kNotExists)));
    EXPECT_TRUE(Match(s, F(n, Operator::kGt, I(6))));
    EXPECT_TRUE(Match(s, F(n, Operator::kGte, I(7))));
    EXPECT_TRUE(Match(s, F(n, Operator::kLt, D(7.5))));
    EXPECT_TRUE(Match(s, F(n, Operator::kLte, I(7))));
    EXPECT_FALSE(Match(s, F(n, Operator::kGt, I(7))));
    EXPECT_FALSE(Match(s, F(n, Operator::kLt, I(7))));
    EXPECT_FALSE(Match(s, F(n, Operator::kEquals, S("7"))));
    // The same names at another level are absent.
    const std::string other = levels[(level + 1) % levels.size()] + "k";
    EXPECT_FALSE(Match(s, F(other, Operator::kExists)));
    EXPECT_TRUE(Match(s, F(other, Operator::kNotEquals, S("hello"))));
  }
}

TEST(SpanMatcherTest, FiltersAreAnded) {
  model::StoredSpan s = RichSpan();
  Filter a = F("span.name", Operator::kContains, S("GET"));
  Filter b = F("resource.attributes.service.name", Operator::kEquals, S("api"));
  Filter c = F("span.attributes.http.status_code", Operator::kLt, I(400));
  EXPECT_TRUE(Match(s, {a, b}));
  EXPECT_FALSE(Match(s, {a, b, c}));
  EXPECT_FALSE(Match(s, {c, a}));
}

TEST(ForEachValueTest, YieldsApiForms) {
  model::StoredSpan s = RichSpan();
  auto values = [&](std::string_view key) {
    std::vector<AnyValue> out;
    ForEachValue(K(key), s, [&](const AnyValue& v) { out.push_back(v); });
    return out;
  };
  EXPECT_EQ(values("span.kind"), std::vector<AnyValue>{AnyValue("Server")});
  EXPECT_EQ(values("span.status.code"), std::vector<AnyValue>{AnyValue("Error")});
  EXPECT_EQ(values("span.startTimeUnixNano"), std::vector<AnyValue>{AnyValue(int64_t{1000})});
  EXPECT_EQ(values("externalFields.durationNano"),
            std::vector<AnyValue>{AnyValue(int64_t{500})});
  EXPECT_EQ(values("ingestionTimeUnixNano"), std::vector<AnyValue>{AnyValue(int64_t{2000})});
  EXPECT_EQ(values("span.parentSpanId"), std::vector<AnyValue>{AnyValue("0000000000000003")});
  EXPECT_EQ(values("span.events.name"), (std::vector<AnyValue>{"exception", "log"}));
  EXPECT_EQ(values("span.events.attributes.retries"), (std::vector<AnyValue>{3, 5}));
  EXPECT_EQ(values("span.links.spanId"),
            (std::vector<AnyValue>{"0000000000000008", "0000000000000006"}));
  EXPECT_EQ(values("span.links.attributes.link.kind"), std::vector<AnyValue>{"follows"});
  EXPECT_EQ(values("span.attributes.tags"), std::vector<AnyValue>{AnyValue(ArrayValue{"a", "b"})});
  EXPECT_EQ(values("span.attributes.dup"), std::vector<AnyValue>{"second"});
  EXPECT_EQ(values("resource.attributes.service.name"), std::vector<AnyValue>{"api"});
  EXPECT_TRUE(values("span.attributes.nope").empty());
}

}  // namespace
}  // namespace teletrace::query
