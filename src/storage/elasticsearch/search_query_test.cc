#include "storage/elasticsearch/search_query.h"

#include <memory>

#include "gtest/gtest.h"

namespace teletrace::storage::elasticsearch {
namespace {

using nlohmann::json;

query::Filter AttributeFilter(query::KeyLevel level, std::string name, query::Operator op,
                              std::optional<query::Scalar> value) {
  query::Filter f;
  f.key.level = level;
  f.key.name = std::move(name);
  f.key.text = "k";
  f.op = op;
  f.value = std::move(value);
  return f;
}

query::Filter IntrinsicFilter(query::Intrinsic intrinsic, query::Operator op, query::Scalar value) {
  query::Filter f;
  f.key.intrinsic = intrinsic;
  f.key.text = "k";
  f.op = op;
  f.value = std::move(value);
  return f;
}

TEST(SearchQueryTest, TermsCoverEveryLevelArrayElementsAndEqualNumbersAlike) {
  model::StoredSpan span;
  auto resource = std::make_shared<model::Resource>();
  resource->attributes.push_back({"service.name", "checkout"});
  span.resource = resource;
  span.span.attributes.push_back({"retries", int64_t{3}});
  span.span.attributes.push_back({"ratio", 3.0});
  span.span.attributes.push_back({"tags", model::ArrayValue{"a", true}});
  span.span.events.emplace_back().attributes.push_back({"attempt", 2.5});
  std::set<std::string> keys, values;
  AddAttributeTerms(span, &keys, &values);
  EXPECT_EQ(keys, (std::set<std::string>{"rservice.name", "sretries", "sratio", "stags",
                                         "eattempt"}));
  EXPECT_EQ(values, (std::set<std::string>{"rservice.name\x1fscheckout", "sretries\x1fn3",
                                           "sratio\x1fn3", "stags\x1fsa", "stags\x1f" "btrue",
                                           "eattempt\x1fn2.5"}));
  // The clause for retries = 3.0 names the term an int 3 indexes.
  std::optional<json> clause = SupersetClause(
      AttributeFilter(query::KeyLevel::kSpan, "retries", query::Operator::kEquals, 3.0));
  ASSERT_TRUE(clause.has_value());
  EXPECT_EQ(*clause, (json{{"terms", {{"attr_values", json::array({"sretries\x1fn3"})}}}}));
}

TEST(SearchQueryTest, NoClauseWhereTheEngineCannotBeASuperset) {
  using query::Operator;
  EXPECT_FALSE(SupersetClause(AttributeFilter(query::KeyLevel::kSpan, "a", Operator::kNotEquals,
                                              std::string("x"))));
  EXPECT_FALSE(SupersetClause(AttributeFilter(query::KeyLevel::kSpan, "a", Operator::kContains,
                                              std::string("x"))));
  EXPECT_FALSE(SupersetClause(AttributeFilter(query::KeyLevel::kSpan, "a", Operator::kGt,
                                              int64_t{1})));
  EXPECT_FALSE(SupersetClause(AttributeFilter(query::KeyLevel::kSpan, std::string(3000, 'k'),
                                              Operator::kExists, std::nullopt)));
  EXPECT_FALSE(SupersetClause(IntrinsicFilter(query::Intrinsic::kDuration, Operator::kLt,
                                              int64_t{-5})));
  EXPECT_FALSE(SupersetClause(IntrinsicFilter(query::Intrinsic::kName, Operator::kEquals,
                                              std::string(3000, 'n'))));
}

TEST(SearchQueryTest, TheSpanNameIsDecidedExactlyByTermsShortEnoughAndWithoutReplacement) {
  using query::Intrinsic;
  using query::Operator;
  EXPECT_EQ(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kEquals, std::string("GET /"))),
            (json{{"terms", {{"name", json::array({"GET /"})}}}}));
  // "" is a name like any other; a negation keeps names too long to index (they differ from it).
  EXPECT_EQ(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kNotEquals, std::string(""))),
            (json{{"bool",
                   {{"must_not", json::array({{{"terms", {{"name", json::array({""})}}}}})}}}}));
  // A name never equals a number.
  EXPECT_EQ(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kEquals, int64_t{5})),
            (json{{"match_none", json::object()}}));
  // Invalid UTF-8 is indexed as U+FFFD, and an operand longer than a term is not a term.
  EXPECT_FALSE(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kEquals,
                                           std::string("a\xEF\xBF\xBD"))));
  EXPECT_FALSE(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kNotEquals,
                                           std::string(3000, 'n'))));
  EXPECT_FALSE(ExactClause(IntrinsicFilter(Intrinsic::kName, Operator::kContains,
                                           std::string("GET"))));
}

TEST(SearchQueryTest, FacetTermsAreTypedValuesOfTheFacetKeysThatReadBack) {
  model::StoredSpan span;
  span.resource = std::make_shared<model::Resource>();
  span.span.attributes.push_back({"http.method", "GET"});
  span.span.attributes.push_back({"http.status_code", int64_t{404}});
  span.span.attributes.push_back({"http.response.status_code", 0.1});
  span.span.attributes.push_back({"http.route", std::string(3000, 'r')});  // too long to hold
  // An array counts nothing.
  span.span.attributes.push_back({"http.request.method", model::ArrayValue{"GET"}});
  span.span.attributes.push_back({"user.id", "u1"});  // not a facet key
  std::vector<std::string> terms;
  AddFacetTerms(span, &terms);
  EXPECT_EQ(terms, (std::vector<std::string>{"http.method=sGET", "http.route=!",
                                             "http.response.status_code=d0.1",
                                             "http.status_code=i404"}));
  auto key = [](std::string name) {
    query::Key k;
    k.level = query::KeyLevel::kSpan;
    k.name = std::move(name);
    return k;
  };
  EXPECT_TRUE(IsFacetKey(key("http.route")));
  EXPECT_FALSE(IsFacetKey(key("user.id")));
  EXPECT_EQ(*ReadFacetTerm(key("http.method"), "http.method=sGET"),
            query::TagValue(std::string("GET")));
  EXPECT_EQ(*ReadFacetTerm(key("http.status_code"), "http.status_code=i404"),
            query::TagValue(int64_t{404}));
  EXPECT_EQ(*ReadFacetTerm(key("http.response.status_code"), "http.response.status_code=d0.1"),
            query::TagValue(0.1));
  EXPECT_EQ(*ReadFacetTerm(key("http.route"), "http.route=bfalse"), query::TagValue(false));
  EXPECT_EQ(*ReadFacetTerm(key("http.route"), "http.route=!"), std::nullopt);
  EXPECT_EQ(*ReadFacetTerm(key("http.route"), "http.route=s/a\xEF\xBF\xBD"), std::nullopt);
  for (std::string_view bad : {"http.method=x1", "http.method=i1.5", "http.method=bmaybe",
                               "http.route=sGET", "http.method"}) {
    EXPECT_TRUE(absl::IsInternal(ReadFacetTerm(key("http.method"), bad).status())) << bad;
  }
  EXPECT_EQ(FacetTermsPattern(key("http.method")), "http\\.method=.*");
}

TEST(SearchQueryTest, DurationUpperBoundAlsoAdmitsValuesTheMatcherSeesAsNegative) {
  std::optional<json> clause = SupersetClause(
      IntrinsicFilter(query::Intrinsic::kDuration, query::Operator::kLt, int64_t{1000}));
  ASSERT_TRUE(clause.has_value());
  const json& should = (*clause)["bool"]["should"];
  ASSERT_EQ(should.size(), 2u);
  EXPECT_EQ(should[0]["range"]["duration"]["lte"].get<int64_t>(), Ordered(1000 + 1024));
  EXPECT_EQ(should[1]["range"]["duration"]["gte"].get<int64_t>(), Ordered(uint64_t{1} << 63));
  // Ordered keeps unsigned order across the sign bit.
  EXPECT_LT(Ordered(0), Ordered(1));
  EXPECT_LT(Ordered((uint64_t{1} << 63) - 1), Ordered(uint64_t{1} << 63));
  EXPECT_LT(Ordered(uint64_t{1} << 63), Ordered(UINT64_MAX));
}

}  // namespace
}  // namespace teletrace::storage::elasticsearch
