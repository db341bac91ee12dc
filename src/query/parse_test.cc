#include "query/parse.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace::query {
namespace {

TEST(ParseKeyTest, EveryIntrinsic) {
  const std::vector<std::pair<std::string, Intrinsic>> cases = {
      {"span.traceId", Intrinsic::kTraceId},
      {"span.spanId", Intrinsic::kSpanId},
      {"span.parentSpanId", Intrinsic::kParentSpanId},
      {"span.traceState", Intrinsic::kTraceState},
      {"span.name", Intrinsic::kName},
      {"span.kind", Intrinsic::kKind},
      {"span.status.code", Intrinsic::kStatusCode},
      {"span.status.message", Intrinsic::kStatusMessage},
      {"span.startTimeUnixNano", Intrinsic::kStartTime},
      {"span.endTimeUnixNano", Intrinsic::kEndTime},
      {"externalFields.durationNano", Intrinsic::kDuration},
      {"scope.name", Intrinsic::kScopeName},
      {"scope.version", Intrinsic::kScopeVersion},
      {"span.events.name", Intrinsic::kEventName},
      {"span.links.traceId", Intrinsic::kLinkTraceId},
      {"span.links.spanId", Intrinsic::kLinkSpanId},
      {"ingestionTimeUnixNano", Intrinsic::kIngestionTime},
  };
  for (const auto& [text, intrinsic] : cases) {
    absl::StatusOr<Key> key = ParseKey(text, "filters[0]");
    ASSERT_TRUE(key.ok()) << text << ": " << key.status();
    EXPECT_EQ(key->level, KeyLevel::kIntrinsic) << text;
    EXPECT_EQ(key->intrinsic, intrinsic) << text;
    EXPECT_EQ(key->text, text);
    EXPECT_EQ(key->name, "");
  }
}

TEST(ParseKeyTest, AttributeLevelsKeepDottedNames) {
  const std::vector<std::tuple<std::string, KeyLevel, std::string>> cases = {
      {"resource.attributes.service.name", KeyLevel::kResource, "service.name"},
      {"scope.attributes.otel.library", KeyLevel::kScope, "otel.library"},
      {"span.attributes.http.method", KeyLevel::kSpan, "http.method"},
      {"span.attributes.x", KeyLevel::kSpan, "x"},
      {"span.events.attributes.exception.type", KeyLevel::kEvent, "exception.type"},
      {"span.links.attributes.a.b.c", KeyLevel::kLink, "a.b.c"},
      {"span.attributes.span.name", KeyLevel::kSpan, "span.name"},
  };
  for (const auto& [text, level, name] : cases) {
    absl::StatusOr<Key> key = ParseKey(text, "filters[0]");
    ASSERT_TRUE(key.ok()) << text << ": " << key.status();
    EXPECT_EQ(key->level, level) << text;
    EXPECT_EQ(key->name, name) << text;
    EXPECT_EQ(key->text, text);
    // The full name comes from the level and the name, not from the text.
    Key built{level, Intrinsic::kName, name, "typed some other way"};
    EXPECT_EQ(AttributeKeyName(built), text);
  }
}

TEST(ParseKeyTest, UnknownKeysNameTheField) {
  for (std::string text : {"", "span", "span.Name", "span.attributes.", "span.attributes",
                           "resource.attributes.", "attributes.x", "span.events.attributes.",
                           "span.links.attributes.", "scope.attributes.", "duration"}) {
    absl::StatusOr<Key> key = ParseKey(text, "filters[3]");
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(key.status().message(), "filters[3].key: unknown key \"" + text + "\"");
  }
}

TEST(ParseKeyTest, IsNumericIntrinsic) {
  auto numeric = [](const char* text) { return IsNumericIntrinsic(*ParseKey(text, "k")); };
  EXPECT_TRUE(numeric("span.startTimeUnixNano"));
  EXPECT_TRUE(numeric("span.endTimeUnixNano"));
  EXPECT_TRUE(numeric("externalFields.durationNano"));
  EXPECT_TRUE(numeric("ingestionTimeUnixNano"));
  EXPECT_FALSE(numeric("span.name"));
  EXPECT_FALSE(numeric("span.kind"));
  EXPECT_FALSE(numeric("span.attributes.http.status_code"));
}

TEST(ParseOperatorTest, AllNamesRoundTrip) {
  const std::vector<std::string> names = {"equals", "not_equals", "in",  "not_in",
                                          "contains", "not_contains", "exists", "not_exists",
                                          "gt",     "gte",          "lt",     "lte"};
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<Operator> op = ParseOperator(names[i], "filters[0]");
    ASSERT_TRUE(op.ok()) << names[i];
    EXPECT_EQ(*op, static_cast<Operator>(i));
    EXPECT_EQ(OperatorName(*op), names[i]);
  }
}

TEST(ParseOperatorTest, UnknownListsTheValidOnes) {
  absl::StatusOr<Operator> op = ParseOperator("Equals", "filters[1]");
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(op.status().message(),
            "filters[1].operator: unknown operator \"Equals\" (expected one of equals, "
            "not_equals, in, not_in, contains, not_contains, exists, not_exists, gt, gte, lt, "
            "lte)");
}

// Only positive operators other than exists, on attribute keys, need a held value.
TEST(ParseOperatorTest, NeedsHeldValue) {
  absl::StatusOr<Key> attribute = ParseKey("span.attributes.user.id", "k");
  absl::StatusOr<Key> intrinsic = ParseKey("span.name", "k");
  ASSERT_TRUE(attribute.ok() && intrinsic.ok());
  const std::vector<std::pair<std::string, bool>> cases = {
      {"equals", true},  {"not_equals", false}, {"in", true},      {"not_in", false},
      {"contains", true}, {"not_contains", false}, {"exists", false}, {"not_exists", false},
      {"gt", true},      {"gte", true},         {"lt", true},      {"lte", true}};
  for (const auto& [name, needs] : cases) {
    absl::StatusOr<Operator> op = ParseOperator(name, "op");
    ASSERT_TRUE(op.ok()) << name;
    EXPECT_EQ(NeedsHeldValue(Filter{*attribute, *op, {}, {}}), needs) << name;
    EXPECT_FALSE(NeedsHeldValue(Filter{*intrinsic, *op, {}, {}})) << name;
  }
}

TEST(ParseStatisticTest, NamedAndPercentiles) {
  for (std::string name : {"min", "max", "avg", "count", "sum"}) {
    absl::StatusOr<Statistic> s = ParseStatistic(name, "desiredStatistics[0]");
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_EQ(s->name, name);
    EXPECT_EQ(s->percentile, 0);
  }
  const std::vector<std::pair<std::string, double>> percentiles = {
      {"p50", 50}, {"p99", 99}, {"p99.9", 99.9}, {"p100", 100}, {"p0.1", 0.1}, {"p75.25", 75.25}};
  for (const auto& [text, value] : percentiles) {
    absl::StatusOr<Statistic> s = ParseStatistic(text, "desiredStatistics[0]");
    ASSERT_TRUE(s.ok()) << text << ": " << s.status();
    EXPECT_EQ(s->name, text);
    EXPECT_DOUBLE_EQ(s->percentile, value);
  }
}

TEST(ParseStatisticTest, Errors) {
  for (std::string text : {"", "median", "p", "p-5", "p5.", "p.5", "p5e1", "P50", "p 50", "p50x"}) {
    absl::StatusOr<Statistic> s = ParseStatistic(text, "desiredStatistics[2]");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(),
              "desiredStatistics[2]: unknown statistic \"" + text +
                  "\" (expected min, max, avg, count, sum or a percentile like p50, p99.9)");
  }
  for (std::string text : {"p0", "p0.0", "p100.1", "p101"}) {
    absl::StatusOr<Statistic> s = ParseStatistic(text, "desiredStatistics[0]");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), "desiredStatistics[0]: percentile \"" + text +
                                        "\" must be greater than 0 and at most 100");
  }
}

TEST(ValueTypeNameTest, ApiNames) {
  EXPECT_EQ(ValueTypeName(ValueType::kStr), "Str");
  EXPECT_EQ(ValueTypeName(ValueType::kInt), "Int");
  EXPECT_EQ(ValueTypeName(ValueType::kDouble), "Double");
  EXPECT_EQ(ValueTypeName(ValueType::kBool), "Bool");
  EXPECT_EQ(ValueTypeName(ValueType::kBytes), "Bytes");
  EXPECT_EQ(ValueTypeName(ValueType::kSlice), "Slice");
  EXPECT_EQ(ValueTypeName(ValueType::kMap), "Map");
}

}  // namespace
}  // namespace teletrace::query
