// KeepMatching, AddTagValues and SetSpanFields against the scan engine over decoded spans: random
// blocks of spans with a few resources, scopes, names, kinds and status codes, random filters on
// those fields and on times, keys on those fields, random time ranges; the answers must be the
// engine's, exactly.
#include "storage/span_refs_query.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/parse.h"
#include "storage/span_projection.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using model::StoredSpan;

query::Key Key(std::string_view text) {
  absl::StatusOr<query::Key> key = query::ParseKey(text, "key");
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

query::Filter Filter(std::string_view key, query::Operator op, query::Scalar value) {
  query::Filter f;
  f.key = Key(key);
  f.op = op;
  f.value = std::move(value);
  return f;
}

// Spans sharing a few resources (one without service.name, one with an int service.name), scopes,
// names, kinds and status codes, at random start times.
std::vector<StoredSpan> RandomSpans(std::mt19937& rng, size_t n) {
  std::vector<std::shared_ptr<const model::Resource>> resources;
  const std::vector<AnyValue> services = {AnyValue(std::string("catalog")),
                                          AnyValue(std::string("cart")), AnyValue(int64_t{7})};
  for (const AnyValue& service : services) {
    for (std::string host : {"h1", "h2"}) {
      auto r = std::make_shared<model::Resource>();
      r->attributes = {{"service.name", service}, {"host.name", AnyValue(host)}};
      resources.push_back(std::move(r));
    }
  }
  auto anonymous = std::make_shared<model::Resource>();
  anonymous->attributes = {{"host.name", AnyValue(std::string("h1"))}};
  resources.push_back(anonymous);
  std::vector<std::shared_ptr<const model::Scope>> scopes;
  for (std::string name : {"http", "db"}) {
    auto s = std::make_shared<model::Scope>();
    s->name = name;
    s->version = name == "http" ? "1.0" : "";
    s->attributes = {{"lib", AnyValue(name + "-lib")}};
    scopes.push_back(std::move(s));
  }
  const std::vector<std::string> names = {"GET /a", "GET /b", "POST /a", "query", ""};
  std::vector<StoredSpan> spans(n);
  for (size_t i = 0; i < n; ++i) {
    StoredSpan& s = spans[i];
    s.resource = resources[rng() % resources.size()];
    s.scope = scopes[rng() % scopes.size()];
    s.span.name = names[rng() % names.size()];
    s.span.kind = static_cast<model::SpanKind>(rng() % 6);
    s.span.status.code = static_cast<model::StatusCode>(rng() % 3);
    s.span.trace_id[0] = static_cast<uint8_t>(i % 7);
    s.span.span_id[0] = static_cast<uint8_t>(i);
    s.span.span_id[1] = static_cast<uint8_t>(i >> 8);
    s.span.start_time_unix_nano = 1000 + rng() % 1000;
    s.span.end_time_unix_nano = s.span.start_time_unix_nano + rng() % 500;
  }
  return spans;
}

std::vector<query::Filter> RandomFilters(std::mt19937& rng) {
  const std::vector<query::Filter> pool = {
      Filter("resource.attributes.service.name", query::Operator::kEquals, "catalog"),
      Filter("resource.attributes.service.name", query::Operator::kNotEquals, "cart"),
      Filter("resource.attributes.service.name", query::Operator::kEquals, int64_t{7}),
      Filter("resource.attributes.host.name", query::Operator::kContains, "1"),
      Filter("span.name", query::Operator::kContains, "GET"),
      Filter("span.name", query::Operator::kNotEquals, "query"),
      Filter("span.kind", query::Operator::kEquals, int64_t{2}),
      Filter("span.kind", query::Operator::kNotEquals, "Client"),
      Filter("span.status.code", query::Operator::kEquals, "Error"),
      Filter("scope.name", query::Operator::kEquals, "http"),
      Filter("scope.attributes.lib", query::Operator::kEquals, "db-lib"),
      Filter("externalFields.durationNano", query::Operator::kGt, int64_t{200}),
      Filter("span.startTimeUnixNano", query::Operator::kLt, int64_t{1500}),
      Filter("span.endTimeUnixNano", query::Operator::kGte, int64_t{1300}),
  };
  std::vector<query::Filter> filters;
  const size_t count = rng() % 4;
  for (size_t i = 0; i < count; ++i) filters.push_back(pool[rng() % pool.size()]);
  return filters;
}

TEST(SpanRefsQueryTest, KeysAndFiltersOnRefsAreRecognised) {
  EXPECT_TRUE(ReadsOnlyRefs(Key("span.name")));
  EXPECT_TRUE(ReadsOnlyRefs(Key("resource.attributes.service.name")));
  EXPECT_TRUE(ReadsOnlyRefs(Key("scope.version")));
  EXPECT_TRUE(ReadsOnlyRefs(Key("span.status.code")));
  EXPECT_FALSE(ReadsOnlyRefs(Key("span.attributes.user.id")));
  EXPECT_FALSE(ReadsOnlyRefs(Key("externalFields.durationNano")));
  EXPECT_FALSE(ReadsOnlyRefs(Key("span.status.message")));
  EXPECT_TRUE(FiltersReadOnlyRefs({}));
  const std::vector<query::Filter> with_duration = {
      Filter("span.name", query::Operator::kEquals, "a"),
      Filter("externalFields.durationNano", query::Operator::kGt, int64_t{5})};
  EXPECT_FALSE(FiltersReadOnlyRefs(with_duration));
  EXPECT_TRUE(FiltersReadOnlyRefs(with_duration, /*times=*/true));
  EXPECT_FALSE(FiltersReadOnlyRefs(
      {Filter("span.attributes.user.id", query::Operator::kEquals, "u")}, /*times=*/true));
}

// The differential: for each random block, range, filter set and key, the refs path gives what
// the engine gives over the spans a decode with FieldsRead(query) builds.
TEST(SpanRefsQueryTest, AnswersAsTheEngineOverDecodedSpans) {
  std::mt19937 rng(20261206);
  const std::vector<std::string> keys = {
      "span.name",   "resource.attributes.service.name", "resource.attributes.host.name",
      "span.kind",   "span.status.code",                 "scope.name",
      "scope.version", "scope.attributes.lib"};
  size_t answered = 0, nonempty = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<StoredSpan> spans = RandomSpans(rng, 1 + rng() % 300);
    absl::StatusOr<std::string> block = EncodeSpanBlock(spans);
    ASSERT_TRUE(block.ok()) << block.status();
    query::TagValuesQuery query;
    query.key = Key(keys[rng() % keys.size()]);
    query.filters = RandomFilters(rng);
    if (rng() % 2 == 0) query.range = query::TimeRange{1200 + rng() % 300, 1500 + rng() % 600};
    SCOPED_TRACE(testing::Message() << "round " << round << ", key " << query.key.text << ", "
                                    << query.filters.size() << " filters");
    const SpanFields fields = FieldsRead(query);
    std::optional<StartRange> starts;
    if (query.range) starts.emplace(query.range->start_unix_nano, query.range->end_unix_nano);

    absl::StatusOr<std::vector<StoredSpan>> decoded = DecodeSpanBlock(*block, fields);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    query::TagValuesCollector want(query);
    query::SpanMatcher matcher(query.filters);
    std::vector<const StoredSpan*> matching;
    for (const StoredSpan& s : *decoded) {
      want.Add(s);
      if ((!query.range || query::InRange(*query.range, s)) && matcher.Matches(s)) {
        matching.push_back(&s);
      }
    }

    absl::StatusOr<std::optional<SpanRefs>> refs =
        DecodeSpanRefs(*block, fields, starts, RowTimes::kStartsAndEnds);
    ASSERT_TRUE(refs.ok()) << refs.status();
    ASSERT_TRUE(refs->has_value());
    KeepMatching(query.filters, **refs);
    ASSERT_EQ((*refs)->rows.size(), matching.size());
    StoredSpan reused;
    for (size_t i = 0; i < matching.size(); ++i) {
      SetSpanFields(**refs, (*refs)->rows[i], fields, reused);
      EXPECT_EQ(reused.span, matching[i]->span) << i;
      if (matching[i]->resource != nullptr) {
        ASSERT_NE(reused.resource, nullptr);
        EXPECT_EQ(*reused.resource, *matching[i]->resource);
        ASSERT_NE(reused.scope, nullptr);
        EXPECT_EQ(*reused.scope, *matching[i]->scope);
      } else {
        EXPECT_EQ(reused.resource, nullptr);
        EXPECT_EQ(reused.scope, nullptr);
      }
    }
    query::TagValuesCollector got(query);
    AddTagValues(query.key, **refs, got);
    query::TagValuesResult want_result = std::move(want).Finish();
    query::TagValuesResult got_result = std::move(got).Finish();
    EXPECT_EQ(got_result.total_distinct, want_result.total_distinct);
    ASSERT_EQ(got_result.values.size(), want_result.values.size());
    for (size_t i = 0; i < want_result.values.size(); ++i) {
      EXPECT_EQ(got_result.values[i].value, want_result.values[i].value) << i;
      EXPECT_EQ(got_result.values[i].count, want_result.values[i].count) << i;
    }
    ++answered;
    if (!want_result.values.empty()) ++nonempty;
  }
  // The draws must exercise both empty and non-empty answers.
  EXPECT_EQ(answered, 300u);
  EXPECT_GT(nonempty, 150u);
  EXPECT_LT(nonempty, 300u);
}

}  // namespace
}  // namespace teletrace::storage
