#include "api/teletrace_v1/key_resolver.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace::api::v1 {
namespace {

using nlohmann::json;

std::vector<query::TagInfo> StoredKeys() {
  return {{"span.name", query::ValueType::kStr},
          {"span.attributes.user.id", query::ValueType::kStr},
          {"span.attributes.http.method", query::ValueType::kStr},
          {"resource.attributes.service.name", query::ValueType::kStr},
          {"resource.attributes.region", query::ValueType::kStr},
          {"span.attributes.region", query::ValueType::kStr},
          {"span.events.attributes.exception.type", query::ValueType::kStr}};
}

class KeyResolverTest : public ::testing::Test {
 protected:
  KeyResolver resolver_{[this]() -> absl::StatusOr<std::vector<query::TagInfo>> {
    ++loads_;
    return StoredKeys();
  }};
  int loads_ = 0;
};

TEST_F(KeyResolverTest, FullKeysAndAliasesNeedNoListing) {
  EXPECT_EQ(*resolver_.Resolve("span.attributes.anything", "k"), "span.attributes.anything");
  EXPECT_EQ(*resolver_.Resolve("span.kind", "k"), "span.kind");
  EXPECT_EQ(*resolver_.Resolve("service", "k"), "resource.attributes.service.name");
  EXPECT_EQ(*resolver_.Resolve("duration", "k"), "externalFields.durationNano");
  EXPECT_EQ(*resolver_.Resolve("status", "k"), "span.status.code");
  EXPECT_EQ(loads_, 0);
}

TEST_F(KeyResolverTest, BareNamesFindTheirLevelOnce) {
  EXPECT_EQ(*resolver_.Resolve("user.id", "k"), "span.attributes.user.id");
  EXPECT_EQ(*resolver_.Resolve("service.name", "k"), "resource.attributes.service.name");
  EXPECT_EQ(*resolver_.Resolve("exception.type", "k"), "span.events.attributes.exception.type");
  EXPECT_EQ(loads_, 1);  // listed once per request, however many keys
}

TEST_F(KeyResolverTest, AmbiguousAndUnknownKeysSayWhy) {
  EXPECT_EQ(resolver_.Resolve("region", "filters[2].key").status().message(),
            "filters[2].key: \"region\" is an attribute at several levels "
            "(span.attributes.region, resource.attributes.region); use the full key");
  EXPECT_EQ(resolver_.Resolve("user.idd", "filters[0].key").status().message(),
            "filters[0].key: unknown key \"user.idd\": neither a full key (span.name, "
            "span.attributes.<name>, resource.attributes.<name>, ...) nor an attribute of the "
            "stored spans; did you mean span.attributes.user.id?");
  EXPECT_EQ(resolver_.Resolve("span.atributes.http.method", "tag").status().message(),
            "tag: unknown key \"span.atributes.http.method\": neither a full key (span.name, "
            "span.attributes.<name>, resource.attributes.<name>, ...) nor an attribute of the "
            "stored spans; did you mean span.attributes.http.method?");
  EXPECT_EQ(resolver_.Resolve("zzzzzzzz", "tag").status().message(),
            "tag: unknown key \"zzzzzzzz\": neither a full key (span.name, span.attributes.<name>, "
            "resource.attributes.<name>, ...) nor an attribute of the stored spans");
}

TEST_F(KeyResolverTest, RewritesFilterAndAggregationKeysInABody) {
  json body = json::parse(R"({"filters":[{"keyValueFilter":{"key":"user.id","operator":"exists"}},
                                         {"keyValueFilter":{"key":"span.name","operator":"exists"}},
                                         {"keyValueFilter":{"key":7}}, "junk"],
                              "aggregations":{"a":{"func":"PERCENTILES","key":"duration"},
                                              "b":{"func":"COUNT","groupBy":"service"}}})");
  ASSERT_TRUE(resolver_.ResolveBody(&body).ok());
  EXPECT_EQ(body["filters"][0]["keyValueFilter"]["key"], "span.attributes.user.id");
  EXPECT_EQ(body["filters"][1]["keyValueFilter"]["key"], "span.name");
  EXPECT_EQ(body["filters"][2]["keyValueFilter"]["key"], 7);  // the parser refuses it later
  EXPECT_EQ(body["aggregations"]["a"]["key"], "externalFields.durationNano");
  EXPECT_EQ(body["aggregations"]["b"]["groupBy"], "resource.attributes.service.name");
  json bad = json::parse(R"({"filters":[{"keyValueFilter":{"key":"nope.nope"}}]})");
  EXPECT_EQ(resolver_.ResolveBody(&bad).code(), absl::StatusCode::kInvalidArgument);
}

size_t FullEditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
    }
  }
  return d[a.size()][b.size()];
}

TEST(BoundedEditDistanceTest, AgreesWithTheFullTableOnRandomStrings) {
  uint32_t seed = 12345;
  auto next = [&seed] { return (seed = seed * 1664525u + 1013904223u) >> 16; };
  auto word = [&] {
    std::string w(next() % 9, 'a');
    for (char& c : w) c = static_cast<char>('a' + next() % 3);
    return w;
  };
  for (int n = 0; n < 5000; ++n) {
    const std::string a = word(), b = word();
    const size_t limit = next() % 4;
    EXPECT_EQ(BoundedEditDistance(a, b, limit), std::min(FullEditDistance(a, b), limit + 1))
        << a << " / " << b << " limit " << limit;
  }
}

TEST(BoundedEditDistanceTest, ExactWithinTheBandAndCappedBeyond) {
  EXPECT_EQ(BoundedEditDistance("kitten", "sitting", 5), 3u);
  EXPECT_EQ(BoundedEditDistance("kitten", "sitting", 2), 3u);  // limit + 1
  EXPECT_EQ(BoundedEditDistance("", "ab", 2), 2u);
  EXPECT_EQ(BoundedEditDistance("abc", "abc", 0), 0u);
  EXPECT_EQ(BoundedEditDistance("user.id", "user.idd", 2), 1u);
  // Lengths far apart are refused without work: a megabyte key costs nothing here.
  EXPECT_EQ(BoundedEditDistance(std::string(1 << 20, 'x'), "x", 2), 3u);
  EXPECT_EQ(BoundedEditDistance(std::string(1 << 20, 'x'), std::string(1 << 20, 'x'), 2), 0u);
}

}  // namespace
}  // namespace teletrace::api::v1
